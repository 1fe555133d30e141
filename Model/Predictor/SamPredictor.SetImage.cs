namespace SamEngine;

// Every way to give the predictor its image: a file, its bytes, a stream, or pixels; now or as a
// task with progress and cancellation (encoding takes seconds on a CPU, where a click takes ms).
public sealed partial class SamPredictor
{
    /// <summary>Encodes an image and keeps its embedding for the prompts that follow (set_image).</summary>
    public void SetImage(RgbImage image) => SetEmbedding(Encoder.Embed(image));

    /// <summary>Reads an image file (as cv2.imread does) and encodes it.</summary>
    /// <exception cref="SamException">The file is missing or not a readable image.</exception>
    public void SetImage(string path) => SetImage(RgbImage.Load(path));

    /// <summary>Decodes an image file's bytes and encodes the image.</summary>
    /// <exception cref="SamException">The bytes are not a readable image.</exception>
    public void SetImage(byte[] imageFile) => SetImage(RgbImage.Decode(imageFile));

    /// <summary>Reads an image file from a stream and encodes the image.</summary>
    /// <exception cref="SamException">The stream does not hold a readable image.</exception>
    public void SetImage(Stream imageFile) => SetImage(RgbImage.Decode(imageFile));

    /// <summary>Encodes an image on a worker thread, reporting each encoder block.</summary>
    /// <param name="image">The image.</param>
    /// <param name="progress">Hears ("encoder", blocks done, blocks in all) as the device finishes each.</param>
    /// <param name="cancellationToken">Stops the encoder between blocks; the predictor then has no image.</param>
    public Task SetImageAsync(RgbImage image, IProgress<SamProgress>? progress = null, CancellationToken cancellationToken = default) =>
        Task.Run(() =>
        {
            ResetImage();
            SetEmbedding(Encoder.Embed(image, progress, cancellationToken));
        }, cancellationToken);

    /// <summary>Reads an image file and encodes it on a worker thread.</summary>
    /// <inheritdoc cref="SetImageAsync(RgbImage, IProgress{SamProgress}?, CancellationToken)"/>
    public Task SetImageAsync(string path, IProgress<SamProgress>? progress = null, CancellationToken cancellationToken = default) =>
        Task.Run(() => SetImageAsync(RgbImage.Load(path), progress, cancellationToken), cancellationToken);

    /// <summary>Decodes an image file's bytes and encodes the image on a worker thread.</summary>
    /// <inheritdoc cref="SetImageAsync(RgbImage, IProgress{SamProgress}?, CancellationToken)"/>
    public Task SetImageAsync(byte[] imageFile, IProgress<SamProgress>? progress = null, CancellationToken cancellationToken = default) =>
        Task.Run(() => SetImageAsync(RgbImage.Decode(imageFile), progress, cancellationToken), cancellationToken);

    /// <summary>Reads an image file from a stream asynchronously, then encodes the image on a worker thread.</summary>
    /// <inheritdoc cref="SetImageAsync(RgbImage, IProgress{SamProgress}?, CancellationToken)"/>
    public async Task SetImageAsync(Stream imageFile, IProgress<SamProgress>? progress = null, CancellationToken cancellationToken = default) =>
        await SetImageAsync(await RgbImage.DecodeAsync(imageFile, cancellationToken).ConfigureAwait(false), progress, cancellationToken).ConfigureAwait(false);
}
