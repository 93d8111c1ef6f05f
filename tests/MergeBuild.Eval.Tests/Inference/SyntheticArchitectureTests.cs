using System.Text.Json.Nodes;
using MergeBuild.Eval.Inference;
using MergeBuild.Eval.Tests.Support;
using MergeBuild.Tensors;
using MergeBuild.Tests;

namespace MergeBuild.Eval.Tests.Inference;

/// <summary>
/// Architecture features the fixtures do not exercise, on small random checkpoints, against
/// <see cref="NaiveLlama"/> (double precision, written independently of the engine).
/// </summary>
public class SyntheticArchitectureTests
{
    private static readonly int[] Ids = [1, 5, 9, 2, 33, 17, 8, 8, 39, 0, 12];

    [Fact]
    public void Qwen2_with_qkv_biases_and_tied_embeddings_stored_as_f16()
    {
        var model = new SyntheticModel { ModelType = "qwen2", QkvBias = true, Tied = true, DType = DType.F16 };
        AssertMatchesNaive(model, PlainFrequencies(model));
    }

    [Fact]
    public void Mistral_with_a_sliding_window_attends_to_the_last_window_positions_only()
    {
        var model = new SyntheticModel { ModelType = "mistral", SlidingWindow = 3 };
        AssertMatchesNaive(model, PlainFrequencies(model));
    }

    [Fact]
    public void Llama_with_llama3_rope_scaling_and_bf16_weights()
    {
        var model = new SyntheticModel
        {
            ModelType = "llama",
            DType = DType.BF16,
            RopeScaling = new JsonObject
            {
                ["rope_type"] = "llama3",
                ["factor"] = 8.0,
                ["low_freq_factor"] = 1.0,
                ["high_freq_factor"] = 4.0,
                ["original_max_position_embeddings"] = 64,
            },
        };

        // transformers' _compute_llama3_parameters in double: wavelengths 2π/f of 6.3 (< 16: kept), 62.8 (between
        // 16 and 64: blended), 628 and 6283 (> 64: divided by 8).
        var expected = PlainFrequencies(model).Select(f =>
        {
            var wavelength = 2 * Math.PI / f;
            if (wavelength < 64 / 4.0)
            {
                return f;
            }

            if (wavelength > 64 / 1.0)
            {
                return f / 8;
            }

            var smooth = (64 / wavelength - 1) / (4 - 1);
            return (1 - smooth) * f / 8 + smooth * f;
        }).ToArray();
        AssertMatchesNaive(model, expected);
    }

    [Fact]
    public void Llama3_scaling_keeps_high_frequencies_and_slows_low_ones_for_llama_3_1_parameters()
    {
        var scaling = new RopeScaling(RopeScalingKind.Llama3, 8, 1, 4, 8192);
        var plain = RotaryEmbedding.InverseFrequencies(128, 500000, null);
        var scaled = RotaryEmbedding.InverseFrequencies(128, 500000, scaling);

        Assert.Equal(plain[0], scaled[0]);
        Assert.Equal(plain[^1] / 8, scaled[^1], 1e-12f);
        Assert.All(scaled.Zip(plain), pair => Assert.InRange(pair.First, pair.Second / 8 * 0.999999f, pair.Second));
    }

    [Fact]
    public void Linear_rope_scaling_divides_every_frequency()
    {
        var plain = RotaryEmbedding.InverseFrequencies(8, 10000, null);
        var scaled = RotaryEmbedding.InverseFrequencies(8, 10000, new RopeScaling(RopeScalingKind.Linear, 4));

        Assert.Equal(plain.Select(f => f / 4), scaled);
    }

    private static double[] PlainFrequencies(SyntheticModel model) =>
        [.. Enumerable.Range(0, model.HeadDim / 2).Select(i => 1 / Math.Pow(model.RopeTheta, 2.0 * i / model.HeadDim))];

    private static void AssertMatchesNaive(SyntheticModel model, double[] inverseFrequencies)
    {
        using var temp = new TempFolder();
        model.Write(temp.Path);

        var actual = LlamaModel.Load(temp.Path).ForwardLogits(Ids);
        var expected = NaiveLlama.Logits(model, Ids, inverseFrequencies);

        for (var p = 0; p < Ids.Length; p++)
        {
            for (var v = 0; v < model.Vocab; v++)
            {
                Assert.True(Math.Abs(expected[p][v] - actual[p][v]) < 1e-3,
                    $"position {p} token {v}: expected {expected[p][v]}, engine {actual[p][v]}");
            }
        }
    }
}
