using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using SamEngine.Engine;

namespace SamEngine.FileFormats;

/// <summary>
/// Every file a user names as input is opened through here. It must be a regular file: a folder,
/// FIFO, device, socket, dangling link or link loop is a one-line error naming it, never a hang
/// (opening a FIFO blocks until a writer comes) or an endless read (/dev/zero). Reads stop at the
/// length the file had when checked, and a file longer than the caller's limit is refused before
/// anything is read.
/// </summary>
internal static class InputFile
{
    /// <summary>Checks that <paramref name="path"/> is a regular file and returns its length; otherwise throws "<paramref name="label"/>: why".</summary>
    public static long Check(string path, string label) =>
        Problem(path, out long length) is { } problem ? throw new SamException($"{label}: {problem}") : length;

    /// <summary>Why <paramref name="path"/> cannot be read as an input file (null if it can), and its length.</summary>
    public static string? Problem(string path, out long length)
    {
        length = 0;
        if (string.IsNullOrEmpty(path)) return "no file named";
        if (Stat(path, out int mode, out length, out int errno))
            return (mode & 0xF000) switch
            {
                0x8000 => null,
                0x4000 => "is a folder, not a file",
                0x1000 => "is a FIFO (named pipe), not a regular file",
                0x2000 or 0x6000 => "is a device, not a regular file",
                0xC000 => "is a socket, not a regular file",
                _ => "is not a regular file",
            };
        if (errno > 0)
            return errno switch
            {
                2 or 20 => IsLink(path) ? "a link that points nowhere" : "file not found",
                40 => "a loop of symbolic links",
                13 => "permission denied",
                36 => "name too long",
                _ => $"cannot open (errno {errno})",
            };
        // No statx here (not Linux): what .NET can tell.
        if (Directory.Exists(path)) return "is a folder, not a file";
        var info = new FileInfo(path);
        if (!info.Exists) return "file not found";
        length = info.Length;
        return null;
    }

    /// <summary>The whole file, at most <paramref name="maxBytes"/> long.</summary>
    public static byte[] ReadAllBytes(string path, string label, long maxBytes)
    {
        using var handle = OpenHandle(path, label, maxBytes, out long length);
        var bytes = new byte[length];
        int done = 0;
        while (done < bytes.Length)
        {
            int n = ReadAt(handle, bytes.AsSpan(done), done, label);
            if (n == 0) throw new SamException($"{label}: the file shrank while it was read");
            done += n;
        }
        return bytes;
    }

    public static string ReadAllText(string path, string label, long maxBytes) =>
        System.Text.Encoding.UTF8.GetString(ReadAllBytes(path, label, maxBytes));

    /// <summary>A read-only stream over the file as it was when checked (its length fixed then).</summary>
    public static Stream OpenRead(string path, string label, long maxBytes)
    {
        var handle = OpenHandle(path, label, maxBytes, out _);
        return new FileStream(handle, FileAccess.Read, 1 << 16);
    }

    /// <summary>Opens the checked file for reading; <paramref name="length"/> is its length then.</summary>
    public static SafeFileHandle OpenHandle(string path, string label, long maxBytes, out long length)
    {
        length = Check(path, label);
        if (length > maxBytes) throw new SamException($"{label}: {length} bytes is more than this kind of file may have ({maxBytes} bytes)");
        try { return File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SamException($"{label}: cannot open ({e.Message})", e);
        }
    }

    static int ReadAt(SafeFileHandle handle, Span<byte> buffer, long offset, string label)
    {
        try { return RandomAccess.Read(handle, buffer, offset); }
        catch (IOException e) { throw new SamException($"{label}: read failed ({e.Message})", e); }
    }

    static bool IsLink(string path)
    {
        try { return new FileInfo(path).LinkTarget != null; }
        catch (IOException) { return false; }
    }

    // statx(2): the same layout on every Linux architecture (stx_mode at byte 28, stx_size at 40).
    [DllImport("libc", SetLastError = true, EntryPoint = "statx")]
    static extern unsafe int StatX(int dirfd, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, uint mask, byte* buffer);

    static bool statxMissing;

    /// <summary>The file's type and size after following links; false with errno set when it cannot be stat'ed, false with 0 where statx does not exist.</summary>
    static unsafe bool Stat(string path, out int mode, out long size, out int errno)
    {
        (mode, size, errno) = (0, 0, 0);
        if (statxMissing || !OperatingSystem.IsLinux()) return false;
        const int AtFdCwd = -100;
        const uint StatxType = 0x1, StatxSize = 0x200;
        byte* buffer = stackalloc byte[256];
        try
        {
            if (StatX(AtFdCwd, path, 0, StatxType | StatxSize, buffer) != 0)
            {
                errno = Marshal.GetLastPInvokeError();
                return false;
            }
        }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
        {
            statxMissing = true;
            return false;
        }
        mode = *(ushort*)(buffer + 28);
        size = *(long*)(buffer + 40);
        return true;
    }
}
