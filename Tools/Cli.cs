using System.CommandLine;
using SamEngine.Engine;

namespace SamEngine.Tools;

/// <summary>Options shared by commands, and the one place user errors become one-line messages.</summary>
internal static class Cli
{
    public static Option<string?> DeviceOption() => new("--device")
    {
        Description = $"auto (cuda > opencl > cpu), cpu, ilgpu-cpu, cuda or opencl; default: ${Devices.EnvironmentVariable} or auto",
    };

    /// <summary>
    /// Runs a command body. A <see cref="SamException"/> (a user mistake or missing resource)
    /// prints as "sam: error: ..." and exits 1; anything else is a bug and prints its type and
    /// message, with the stack only when SAM_DEBUG is set.
    /// </summary>
    public static int Guard(Func<int> body)
    {
        try
        {
            return body();
        }
        catch (SamException e)
        {
            Console.Error.WriteLine($"sam: error: {e.Message}");
            return 1;
        }
        catch (Exception e) when (Environment.GetEnvironmentVariable("SAM_DEBUG") == null)
        {
            Console.Error.WriteLine($"sam: internal error: {e.GetType().Name}: {e.Message} (set SAM_DEBUG=1 for the stack trace)");
            return 2;
        }
    }
}
