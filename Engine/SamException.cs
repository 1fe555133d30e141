namespace SamEngine.Engine;

/// <summary>
/// A user-facing failure: bad input, a missing device, a corrupt file. The CLI prints its
/// message as one line and exits non-zero; anything else that escapes is a bug.
/// </summary>
public class SamException : Exception
{
    public SamException(string message) : base(message) { }
    public SamException(string message, Exception inner) : base(message, inner) { }
}
