// Segment Anything behind an ASP.NET Core minimal API.
//
//   dotnet run -- --Sam:Model sam_vit_b_01ec64.pth --urls http://127.0.0.1:5000
//   curl --data-binary @photo.jpg 'http://127.0.0.1:5000/segment?x=500&y=375' -o cutout.png
//   curl --data-binary @photo.jpg 'http://127.0.0.1:5000/everything?points_per_side=16' -o masks.json
using SamEngine;

var builder = WebApplication.CreateBuilder(args);
string modelPath = builder.Configuration["Sam:Model"] ?? "random:vit_b";
// Load once: the model holds the weights; requests share one predictor, one at a time.
var model = modelPath.StartsWith("random:") ? SamModel.Random(modelPath["random:".Length..]) : SamModel.Load(modelPath);
var predictor = new SamPredictor(model);
var turn = new SemaphoreSlim(1);

var app = builder.Build();
app.Lifetime.ApplicationStopped.Register(() => { predictor.Dispose(); model.Dispose(); });

// A bad image or a point outside it is the client's mistake: 400 with the one-line reason.
app.Use(async (context, next) =>
{
    try { await next(); }
    catch (SamException e) when (!context.Response.HasStarted)
    {
        context.Response.StatusCode = StatusCodes.Status400BadRequest;
        await context.Response.WriteAsJsonAsync(new { error = e.Message });
    }
});

app.MapGet("/", () => new { model = model.Name, device = model.DeviceName });

// The object under (x, y): the image cut out by the best of three candidate masks, as a PNG.
app.MapPost("/segment", async (HttpRequest request, float x, float y, CancellationToken cancel) =>
{
    var image = await RgbImage.DecodeAsync(request.Body, cancel);
    await turn.WaitAsync(cancel);
    try
    {
        await predictor.SetImageAsync(image, cancellationToken: cancel);
        var prediction = predictor.Predict(pointCoords: new float[,] { { x, y } }, pointLabels: [1]);
        var mask = prediction.Mask(prediction.BestMaskIndex());
        return Results.File(MaskPng.CutOut(image, mask), "image/png");
    }
    finally { turn.Release(); }
});

// Every object (SamAutomaticMaskGenerator): the records as amg.py writes them, in standard JSON.
app.MapPost("/everything", async (HttpRequest request, int? points_per_side, CancellationToken cancel) =>
{
    var image = await RgbImage.DecodeAsync(request.Body, cancel);
    var options = new AmgOptions { PointsPerSide = points_per_side ?? 32, OutputMode = AmgOutputMode.CocoRle };
    await turn.WaitAsync(cancel);
    try
    {
        // On the shared predictor: its weights are on the device already.
        using var generator = new SamAutomaticMaskGenerator(predictor, options);
        var result = await generator.GenerateAsync(image, cancellationToken: cancel);
        return Results.Text(result.ToJson(strict: true), "application/json");
    }
    finally { turn.Release(); }
});

app.Run();
