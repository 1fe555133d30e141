using System.Threading.Channels;
using SamEngine.Engine;
using SamEngine.Model;
using SamEngine.Weights;

namespace SamEngine.Server;

/// <summary>
/// Prompt encoders and mask decoders for concurrent requests: each slot is a predictor with its
/// own copy of the (small) decoder weights and the image it last decoded for, so a run of clicks
/// on one image sets its embedding once.
/// </summary>
internal sealed class PredictorPool : IDisposable
{
    sealed class Slot(SamPredictor predictor)
    {
        public SamPredictor Predictor { get; } = predictor;
        public string? ImageId;
    }

    readonly Channel<Slot> free = Channel.CreateUnbounded<Slot>();
    readonly List<Slot> all = new();

    public PredictorPool(StateDict weights, Device device, int count)
    {
        for (int i = 0; i < count; i++)
        {
            var slot = new Slot(new SamPredictor(weights, device));
            all.Add(slot);
            free.Writer.TryWrite(slot);
        }
    }

    public SamPredictor Any => all[0].Predictor;

    public async Task<T> Use<T>(string imageId, ImageEmbedding embedding, Func<SamPredictor, T> work, CancellationToken cancel)
    {
        var slot = await free.Reader.ReadAsync(cancel);
        try
        {
            if (slot.ImageId != imageId)
            {
                slot.ImageId = null;
                slot.Predictor.SetEmbedding(embedding);
                slot.ImageId = imageId;
            }
            return work(slot.Predictor);
        }
        finally { free.Writer.TryWrite(slot); }
    }

    public void Dispose()
    {
        foreach (var s in all) s.Predictor.Dispose();
    }
}
