using System.Text.Json;
using MergeBuild.Eval.Inference;
using MergeBuild.Eval.Tokenization;
using MergeBuild.Tests;

namespace MergeBuild.Eval.Tests.Inference;

/// <summary>The engine's float32 logits against fixtures/expected/logits.json (the reference forward pass).</summary>
public class ReferenceLogitsTests
{
    private const float Tolerance = 1e-3f;

    public static TheoryData<int> Cases()
    {
        var data = new TheoryData<int>();
        for (var i = 0; i < LoadCases().Count; i++)
        {
            data.Add(i);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Logits_match_the_reference_within_1e_3(int index)
    {
        var expected = LoadCases()[index];
        var folder = Path.Combine(Fixtures.Root, expected.Model);
        var tokenizer = TokenizerLoader.Load(folder);
        Assert.Equal(expected.InputIds, tokenizer.Encode(expected.Prompt));

        var logits = LlamaModel.Load(folder).ForwardLogits(expected.InputIds);

        Assert.Equal(expected.Logits.Length, logits.Length);
        var worst = 0f;
        for (var p = 0; p < logits.Length; p++)
        {
            Assert.Equal(expected.Logits[p].Length, logits[p].Length);
            for (var v = 0; v < logits[p].Length; v++)
            {
                worst = Math.Max(worst, Math.Abs(expected.Logits[p][v] - logits[p][v]));
            }
        }

        Assert.True(worst <= Tolerance, $"{expected.Model} '{expected.Prompt}': max |Δlogit| = {worst}");
    }

    private sealed record Case(string Model, string Prompt, int[] InputIds, float[][] Logits);

    private static float[] Floats(JsonElement row) => [.. row.EnumerateArray().Select(e => e.GetSingle())];

    private static List<Case> LoadCases()
    {
        using var document = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(Fixtures.Root, "expected", "logits.json")));
        return [.. document.RootElement.GetProperty("cases").EnumerateArray().Select(c => new Case(
            c.GetProperty("model").GetString()!,
            c.GetProperty("prompt").GetString()!,
            [.. c.GetProperty("input_ids").EnumerateArray().Select(e => e.GetInt32())],
            [.. c.GetProperty("logits").EnumerateArray().Select(Floats)]))];
    }
}
