namespace SamEngine;

/// <summary>
/// A failure that is the input's, not SamEngine's: a missing or corrupt file, a prompt outside
/// the image, a device that is not there. Its message is one line that names the file or value
/// and the problem, fit to show a user as it is. (The CLI prints it and exits non-zero; any other
/// exception escaping SamEngine is a bug.)
/// </summary>
public class SamException : Exception
{
    /// <summary>A failure described in one line.</summary>
    public SamException(string message) : base(message) { }
    /// <summary>A failure described in one line, caused by <paramref name="inner"/>.</summary>
    public SamException(string message, Exception inner) : base(message, inner) { }
}
