using System.Diagnostics;
using System.Text;
using Xunit.Abstractions;

namespace SamEngine.Tests.FileFormats;

/// <summary>
/// Our JPEG decoder against libjpeg-turbo itself, on files its cjpeg makes with every option that
/// changes how a file is decoded (sampling factors, progressive scans with successive
/// approximation, arithmetic coding, restart intervals, optimised tables, grey, RGB) at sizes
/// around the MCU edges; djpeg's output (islow, fancy upsampling: what cv2 gets) must equal ours
/// byte for byte. Skipped where libjpeg-turbo-progs is not installed (.ci/run installs it).
/// </summary>
public sealed class LibjpegTurboDifferentialTests(ITestOutputHelper output) : IDisposable
{
    readonly string dir = Directory.CreateTempSubdirectory("sam-djpeg-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    static readonly int[] Sizes = [1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 33, 64, 65, 129];
    static readonly string[] Samplings = ["1x1", "2x1", "1x2", "2x2", "4x1", "1x4", "4x2", "2x4", "2x2,1x2,1x2", "2x2,2x1,1x1", "2x1,1x2,1x1", "2x2,1x1,2x2"];

    [SkippableFact]
    public void DecodesAsDjpeg()
    {
        Skip.IfNot(OnPath("cjpeg") && OnPath("djpeg"), "libjpeg-turbo's cjpeg and djpeg are not installed (apt-get install libjpeg-turbo-progs)");
        var rng = new Random(2026);
        int cases = 0;
        for (int n = 0; n < 80; n++)
        {
            int width = rng.Next(3) == 0 ? rng.Next(1, 300) : Sizes[rng.Next(Sizes.Length)];
            int height = rng.Next(3) == 0 ? rng.Next(1, 300) : Sizes[rng.Next(Sizes.Length)];
            var args = new List<string> { "-quality", rng.Next(3) == 0 ? "100" : rng.Next(5, 100).ToString() };
            switch (rng.Next(8))
            {
                case 0: args.Add("-grayscale"); break;
                case 1: args.Add("-rgb"); break;
                default: args.AddRange(["-sample", Samplings[rng.Next(Samplings.Length)]]); break;
            }
            if (rng.Next(3) == 0) args.Add("-progressive");
            if (rng.Next(4) == 0) args.Add("-arithmetic");
            else if (rng.Next(3) == 0) args.Add("-optimize");
            if (rng.Next(4) == 0) args.AddRange(["-restart", rng.Next(2) == 0 ? "1" : $"{rng.Next(1, 9)}B"]);

            var ppm = Path.Combine(dir, $"{n}.ppm");
            File.WriteAllBytes(ppm, Ppm(width, height, rng));
            var jpg = Path.Combine(dir, $"{n}.jpg");
            Run("cjpeg", [.. args, "-outfile", jpg, ppm]);
            var pnm = Path.Combine(dir, $"{n}.pnm");
            Run("djpeg", ["-pnm", "-outfile", pnm, jpg]);

            var reference = ReadPnm(pnm);
            var ours = ImageLoader.Load(jpg);
            var what = $"{width}×{height} cjpeg {string.Join(' ', args)}";
            Assert.True((ours.Width, ours.Height) == (width, height), $"{what}: decoded {ours.Width}×{ours.Height}");
            var first = reference.AsSpan().CommonPrefixLength(ours.Pixels);
            Assert.True(first == reference.Length,
                $"{what}: first difference at pixel {first / 3} (row {first / 3 / width}), channel {first % 3}: {ours.Pixels[Math.Min(first, ours.Pixels.Length - 1)]} where djpeg gives {reference[Math.Min(first, reference.Length - 1)]}");
            cases++;
        }
        output.WriteLine($"{cases} cjpeg files decoded exactly as djpeg decodes them");
    }

    /// <summary>A random image with smooth parts, edges and noise, as binary PPM.</summary>
    static byte[] Ppm(int width, int height, Random rng)
    {
        var header = Encoding.ASCII.GetBytes($"P6\n{width} {height}\n255\n");
        var pixels = new byte[width * height * 3];
        double fx = rng.NextDouble() * 0.5, fy = rng.NextDouble() * 0.5, noise = rng.Next(0, 120);
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
                for (int c = 0; c < 3; c++)
                {
                    double v = 128 + 100 * Math.Sin(fx * x * (c + 1) + fy * y) + noise * (rng.NextDouble() - 0.5) + ((x / 5 + y / 7) % 2 == 0 ? 30 : -30);
                    pixels[(y * width + x) * 3 + c] = (byte)Math.Clamp(v, 0, 255);
                }
        return [.. header, .. pixels];
    }

    /// <summary>djpeg's P5 (grey, replicated to RGB as cv2 does) or P6 output.</summary>
    static byte[] ReadPnm(string path)
    {
        var b = File.ReadAllBytes(path);
        int pos = 0;
        string Token()
        {
            while (char.IsWhiteSpace((char)b[pos])) pos++;
            int start = pos;
            while (!char.IsWhiteSpace((char)b[pos])) pos++;
            return Encoding.ASCII.GetString(b, start, pos - start);
        }
        string magic = Token();
        int width = int.Parse(Token()), height = int.Parse(Token());
        Token();
        pos++;
        var data = b.AsSpan(pos);
        if (magic == "P6") return data[..(width * height * 3)].ToArray();
        var rgb = new byte[width * height * 3];
        for (int i = 0; i < width * height; i++) rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = data[i];
        return rgb;
    }

    static void Run(string tool, IEnumerable<string> args)
    {
        var start = new ProcessStartInfo(tool) { RedirectStandardError = true };
        foreach (var a in args) start.ArgumentList.Add(a);
        using var p = Process.Start(start)!;
        var error = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"{tool} {string.Join(' ', args)}: {error}");
    }

    static bool OnPath(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Any(d => File.Exists(Path.Combine(d, tool)));
}
