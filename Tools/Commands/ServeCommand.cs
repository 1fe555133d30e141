using System.CommandLine;
using SamEngine.Engine;
using Microsoft.Extensions.Hosting;
using SamEngine.Server;

namespace SamEngine.Tools.Commands;

/// <summary>
/// `sam serve`: interactive segmentation in a browser and over a JSON API (see
/// <see cref="SamServer"/>): upload an image, it is encoded once, then every click is a decoder run.
/// </summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var d = new ServeOptions();
        var model = new Option<string?>("--model") { Description = "Checkpoint (.pth or .safetensors); without it, the demo's random-weight ViT-B (meaningless masks, real timings)." };
        var device = Cli.DeviceOption();
        var host = new Option<string>("--host") { Description = "Address to listen on; anything but loopback needs --token.", DefaultValueFactory = _ => d.Host };
        var port = new Option<int>("--port") { Description = "Port (0: any free one).", DefaultValueFactory = _ => d.Port };
        var cacheMb = new Option<int>("--cache-mb") { Description = "Embeddings kept in memory, in MB (a ViT-B embedding is 4 MB); least recently used dropped first.", DefaultValueFactory = _ => d.CacheMb };
        var cacheDir = new Option<string?>("--cache-dir") { Description = "Keep embeddings on disk here too, so a restart does not encode an image again." };
        var token = new Option<string?>("--token") { Description = "Every API request must carry it (Authorization: Bearer TOKEN, or ?token=TOKEN); required off loopback." };
        var maxUpload = new Option<int>("--max-upload-mb") { Description = "Largest image file accepted, in MB (1–1024).", DefaultValueFactory = _ => d.MaxUploadMb };
        var cmd = new Command("serve", "Interactive segmentation: a web page and a JSON API over cached embeddings.")
        {
            model, device, host, port, cacheMb, cacheDir, token, maxUpload,
        };
        cmd.SetAction(p => Cli.Guard(() => Run(new ServeOptions
        {
            Model = p.GetValue(model), Device = p.GetValue(device), Host = p.GetValue(host)!, Port = p.GetValue(port),
            CacheMb = p.GetValue(cacheMb), CacheDir = p.GetValue(cacheDir), Token = p.GetValue(token), MaxUploadMb = p.GetValue(maxUpload),
        })));
        return cmd;
    }

    static int Run(ServeOptions options)
    {
        if (options.Port is < 0 or > 65535) throw new SamException($"--port {options.Port}: must be in [0, 65535]");
        if (options.CacheDir != null && File.Exists(options.CacheDir)) throw new SamException($"--cache-dir {options.CacheDir} is a file");
        using var service = new SamService(options);
        var app = SamServer.Build(service);
        try { app.Start(); }
        catch (IOException e) { throw new SamException($"--port {options.Port}: cannot listen on {options.Host} ({e.Message})"); }
        var url = app.Urls.First();
        Console.WriteLine($"sam serve: {url}/ — {service.ModelName} on {service.Device.Kind.Name()} ({service.Device.Name})" +
            (options.CacheDir != null ? $", embeddings cached in {options.CacheDir}" : ""));
        if (service.RandomWeights)
            Console.WriteLine("sam serve: no --model: these are random weights, so the masks are meaningless (the timings are the real ViT-B's)");
        Console.WriteLine("sam serve: Ctrl+C stops it");
        app.WaitForShutdown();
        return 0;
    }
}
