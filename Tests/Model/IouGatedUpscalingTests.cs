using SamEngine.Model;

namespace SamEngine.Tests.Model;

/// <summary>
/// Decode with upscaleAboveIou (what the automatic mask generator asks for): the prompts with a
/// mask above the IoU get exactly the logits an ungated decode gives, the others −∞, and the IoU
/// predictions do not change.
/// </summary>
public class IouGatedUpscalingTests
{
    [SkippableFact]
    public void UpscalesExactlyThePromptsWithAMaskAboveTheIou()
    {
        using var predictor = DecoderFixtures.Predictor("cpu", "shapes");
        var (h, w) = predictor.OriginalSize;
        // 20 points on a grid: more than one decoder chunk of 16.
        var raw = new double[40];
        for (int i = 0; i < 20; i++) (raw[2 * i], raw[2 * i + 1]) = ((i % 5 + 0.5) * w / 5, (i / 5 + 0.5) * h / 4);
        var batch = new PromptBatch(20, 1, predictor.Transform.ApplyCoords(raw, (h, w)), Enumerable.Repeat(1, 20).ToArray(), null, null);

        var (all, iou) = predictor.Decode(batch, multimaskOutput: true);
        using (all)
        {
            int masks = all.Dim(1);
            var best = Enumerable.Range(0, 20).Select(i => iou.Skip(i * masks).Take(masks).Max()).ToArray();
            float above = best.Order().ElementAt(10);
            var (gated, gatedIou) = predictor.Decode(batch, multimaskOutput: true, upscaleAboveIou: above);
            using (gated)
            {
                Assert.Equal(iou, gatedIou);
                Assert.Equal(all.Shape, gated.Shape);
                long perPrompt = all.Length / 20;
                var expected = all.Download();
                var actual = gated.Download();
                int upscaled = 0;
                for (int i = 0; i < 20; i++)
                {
                    var e = expected.AsSpan((int)(i * perPrompt), (int)perPrompt);
                    var a = actual.AsSpan((int)(i * perPrompt), (int)perPrompt);
                    if (best[i] > above)
                    {
                        upscaled++;
                        Assert.True(e.SequenceEqual(a), $"prompt {i} (best IoU {best[i]} > {above}) differs from the ungated decode");
                    }
                    else Assert.True(a.IndexOfAnyExcept(float.NegativeInfinity) < 0, $"prompt {i} (best IoU {best[i]} ≤ {above}) was upscaled");
                }
                Assert.InRange(upscaled, 1, 19);
            }
        }
    }
}
