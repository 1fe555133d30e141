using SamEngine.Engine;

namespace SamEngine.Weights;

/// <summary>
/// A checkpoint that cannot be used: not a checkpoint, corrupt, truncated, hostile, or not a SAM
/// state dict. The message is one line and starts with the file's path.
/// </summary>
internal sealed class CheckpointException : SamException
{
    public CheckpointException(string path, string problem) : base($"{path}: {problem}") => Path = path;
    public CheckpointException(string path, string problem, Exception inner) : base($"{path}: {problem}", inner) => Path = path;

    public string Path { get; }
}
