using System.Threading.Channels;

namespace SamEngine.Server;

/// <summary>
/// Encoder work, one job at a time per device (the encoder already uses every core or the whole
/// GPU): image encodings and AMG runs, in arrival order, with each job's place in the queue.
/// </summary>
internal sealed class DeviceQueue : IDisposable
{
    sealed record Job(string? ImageId, Action Work, TaskCompletionSource Done);

    readonly Channel<Job> channel = Channel.CreateUnbounded<Job>(new UnboundedChannelOptions { SingleReader = true });
    readonly LinkedList<Job> waiting = new();
    readonly Task worker;

    public DeviceQueue() => worker = Task.Run(Work);

    /// <summary>Queues <paramref name="work"/>; the task completes (or fails) when it has run.</summary>
    public Task Enqueue(string? imageId, Action work)
    {
        var job = new Job(imageId, work, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        lock (waiting) waiting.AddLast(job);
        if (!channel.Writer.TryWrite(job)) job.Done.SetException(new ApiError(503, "the server is shutting down"));
        return job.Done.Task;
    }

    /// <summary>Jobs ahead of the image's encoding (0: it is running now); null if it is not queued.</summary>
    public int? Position(string imageId)
    {
        lock (waiting)
        {
            int i = 0;
            foreach (var job in waiting)
            {
                if (job.ImageId == imageId) return i;
                i++;
            }
        }
        return null;
    }

    async Task Work()
    {
        await foreach (var job in channel.Reader.ReadAllAsync())
        {
            try
            {
                job.Work();
                job.Done.SetResult();
            }
            catch (Exception e) { job.Done.SetException(e); }
            finally
            {
                lock (waiting) waiting.Remove(job);
            }
        }
    }

    public void Dispose()
    {
        channel.Writer.TryComplete();
        worker.Wait(TimeSpan.FromSeconds(30));
    }
}
