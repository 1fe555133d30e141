namespace SamEngine.Server;

/// <summary>A request the server refuses: a 4xx status and one line saying why.</summary>
internal sealed class ApiError(int status, string message) : Exception(message)
{
    public int Status { get; } = status;

    public static ApiError BadRequest(string message) => new(400, message);
    public static ApiError NotFound(string message) => new(404, message);
    public static ApiError Conflict(string message) => new(409, message);
    public static ApiError TooLarge(string message) => new(413, message);
}
