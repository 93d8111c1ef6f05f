using MergeBuild.Core.Tests.Methods.Reference;
using MergeBuild.Methods;
using MergeBuild.Methods.Geometric;
using MergeBuild.Methods.Misc;
using MergeBuild.Tensors;
using static MergeBuild.Core.Tests.Methods.MethodHarness;

namespace MergeBuild.Core.Tests.Methods;

/// <summary>
/// The streaming implementations against the whole-tensor implementations they replaced (kept verbatim under
/// <c>Reference/</c>): the same bits for random tensors in every compute dtype, whole or in chunks of any size.
/// </summary>
public class StreamingEquivalenceTests
{
    public static TheoryData<string, DType, int> Cases()
    {
        var data = new TheoryData<string, DType, int>();
        foreach (var name in Scenarios.Keys)
        {
            foreach (var dtype in new[] { DType.F32, DType.BF16, DType.F16 })
            {
                foreach (var chunk in new[] { 77, 4096 })
                {
                    data.Add(name, dtype, chunk);
                }
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Streaming_gives_the_bits_of_the_whole_tensor_reference(string scenario, DType dtype, int chunk)
    {
        var s = Scenarios[scenario];
        var random = new Random(scenario.Sum(c => c) * 31 + (int)dtype);
        var (inputs, baseValues) = s.Data(random, dtype);
        float[] expected;
        try
        {
            expected = MethodHarness.Run(s.Reference, inputs, baseValues, s.Parameters, s.Shape, dtype);
        }
        catch (Exception e) when (e is ArithmeticException or MergeBuild.Diagnostics.MergeBuildException)
        {
            Assert.Throws(e.GetType(), () => MethodHarness.Run(s.Method, inputs, baseValues, s.Parameters, s.Shape, dtype));
            Assert.Throws(e.GetType(), () => StreamingHarness.Run(s.Method, inputs, baseValues, s.Parameters, s.Shape, dtype, chunk));
            return;
        }

        var whole = MethodHarness.Run(s.Method, inputs, baseValues, s.Parameters, s.Shape, dtype);
        var streamed = StreamingHarness.Run(s.Method, inputs, baseValues, s.Parameters, s.Shape, dtype, chunk);
        Assert.Equal(Bits(expected), Bits(whole));
        Assert.Equal(Bits(expected), Bits(streamed));
    }

    private sealed record Scenario(
        IMergeMethod Method,
        IMergeMethod Reference,
        long[] Shape,
        Func<Random, DType, (List<Input> Inputs, float[]? Base)> Data,
        Dictionary<string, double>? Parameters = null);

    private static readonly Dictionary<string, Scenario> Scenarios = new()
    {
        ["nearswap"] = new(new NearswapMethod(), new ReferenceNearswap(), [37, 211],
            (r, d) => WithBase(r, d, 1, 37 * 211, 0.02f), P(("t", 0.01))),
        ["nearswap-specials"] = new(new NearswapMethod(), new ReferenceNearswap(), [1000],
            (r, d) => Specials(WithBase(r, d, 1, 1000, 0.02f), r), P(("t", 0.5))),
        ["ram"] = new(new RamMethod(), new ReferenceRam(), [53, 97],
            (r, d) => WithBase(r, d, 3, 53 * 97, 0.001f), P(("epsilon", 1e-5))),
        ["ram-specials"] = new(new RamMethod(), new ReferenceRam(), [999],
            (r, d) => Specials(WithBase(r, d, 4, 999, 0.001f), r), P(("epsilon", 1e-5))),
        ["ramplus"] = new(new RamPlusTensorLocalMethod(), new ReferenceRamPlusTensorLocal(), [53, 97],
            (r, d) => WithBase(r, d, 3, 53 * 97, 0.001f), P(("epsilon", 1e-5), ("r", 0.5), ("alpha", 0.3))),
        ["ramplus-specials"] = new(new RamPlusTensorLocalMethod(), new ReferenceRamPlusTensorLocal(), [999],
            (r, d) => Specials(WithBase(r, d, 2, 999, 0.001f), r), P(("epsilon", 0), ("r", 2), ("alpha", 5))),
        ["sce-topk"] = new(new SceMethod(), new ReferenceSce(), [61, 89],
            (r, d) => WithBase(r, d, 3, 61 * 89, 0.01f), P(("select_topk", 0.3))),
        ["sce-all"] = new(new SceMethod(), new ReferenceSce(), [61, 89],
            (r, d) => WithBase(r, d, 3, 61 * 89, 0.01f), P(("select_topk", 1))),
        ["sce-ties"] = new(new SceMethod(), new ReferenceSce(), [5000],
            (r, d) => Quantized(WithBase(r, d, 3, 5000, 0.01f), r), P(("select_topk", 0.37))),
        ["sce-nothing"] = new(new SceMethod(), new ReferenceSce(), [300],
            (r, d) => WithBase(r, d, 2, 300, 0f), P(("select_topk", 0.5))),
        ["sce-specials"] = new(new SceMethod(), new ReferenceSce(), [700],
            (r, d) => Specials(WithBase(r, d, 3, 700, 0.01f), r), P(("select_topk", 0.5))),
        ["sce-infinities"] = new(new SceMethod(), new ReferenceSce(), [700],
            (r, d) => Infinities(WithBase(r, d, 3, 700, 0.01f), r), P(("select_topk", 0.9))),
        ["slerp"] = new(new SlerpMethod(), new ReferenceSlerp(), [67, 131],
            (r, d) => WithBase(r, d, 1, 67 * 131, 0.5f), P(("t", 0.3))),
        ["slerp-colinear"] = new(new SlerpMethod(), new ReferenceSlerp(), [67, 131],
            (r, d) => WithBase(r, d, 1, 67 * 131, 0.001f), P(("t", 0.7))),
        ["slerp-endpoint"] = new(new SlerpMethod(), new ReferenceSlerp(), [500],
            (r, d) => WithBase(r, d, 1, 500, 0.5f), P(("t", 1))),
        ["nuslerp-flat"] = new(new NuslerpMethod(), new ReferenceNuslerp(), [67, 131],
            (r, d) => Models(r, d, 2, 67 * 131, m => P(("weight", m + 1.0))), Nuslerp(true, false)),
        ["nuslerp-rows-base"] = new(new NuslerpMethod(), new ReferenceNuslerp(), [67, 131],
            (r, d) => WithBase(r, d, 2, 67 * 131, 0.1f, P(("weight", 1))), Nuslerp(false, false)),
        ["nuslerp-columns"] = new(new NuslerpMethod(), new ReferenceNuslerp(), [67, 131],
            (r, d) => Models(r, d, 2, 67 * 131, m => P(("weight", 3.0 - m))), Nuslerp(false, true)),
        ["nuslerp-columns-base-3d"] = new(new NuslerpMethod(), new ReferenceNuslerp(), [7, 11, 13],
            (r, d) => Colinear(WithBase(r, d, 2, 7 * 11 * 13, 0.1f, P(("weight", 1))), 13), Nuslerp(false, true)),
        ["nuslerp-rows-colinear"] = new(new NuslerpMethod(), new ReferenceNuslerp(), [40, 300],
            (r, d) => Colinear(Models(r, d, 2, 40 * 300, m => P(("weight", 1))), 300), Nuslerp(false, false)),
        ["model_stock"] = new(new ModelStockMethod(), new ReferenceModelStock(), [67, 131],
            (r, d) => WithBase(r, d, 3, 67 * 131, 0.01f), P(("filter_wise", 0))),
        ["model_stock-rows"] = new(new ModelStockMethod(), new ReferenceModelStock(), [67, 131],
            (r, d) => WithBase(r, d, 4, 67 * 131, 0.01f), P(("filter_wise", 1))),
        ["model_stock-opposed"] = new(new ModelStockMethod(), new ReferenceModelStock(), [100],
            (r, d) => Opposed(WithBase(r, d, 2, 100, 0.01f)), P(("filter_wise", 0))),
        ["multislerp"] = new(new MultislerpMethod(), new ReferenceMultislerp(), [67, 131],
            (r, d) => Models(r, d, 3, 67 * 131, m => P(("weight", m + 1.0))), Multislerp(true)),
        ["multislerp-base"] = new(new MultislerpMethod(), new ReferenceMultislerp(), [67, 131],
            (r, d) => WithBase(r, d, 4, 67 * 131, 0.1f, P(("weight", 0.7))), Multislerp(false)),
        ["multislerp-cancelled"] = new(new MultislerpMethod(), new ReferenceMultislerp(), [200],
            (r, d) => Opposed(Models(r, d, 2, 200, m => P(("weight", 1)))), Multislerp(true)),
        ["multislerp-cancelled-three"] = new(new MultislerpMethod(), new ReferenceMultislerp(), [200],
            (r, d) => Opposed(Models(r, d, 3, 200, m => P(("weight", m == 2 ? 0 : 1)))), Multislerp(true)),
        ["karcher"] = new(new KarcherMethod(), new ReferenceKarcher(), [67, 131],
            (r, d) => Models(r, d, 3, 67 * 131), P(("max_iter", 10), ("tol", 1e-5))),
        ["karcher-spread"] = new(new KarcherMethod(), new ReferenceKarcher(), [3, 5],
            (r, d) => Models(r, d, 4, 15), P(("max_iter", 25), ("tol", 1e-9))),
        ["karcher-converges"] = new(new KarcherMethod(), new ReferenceKarcher(), [40, 50],
            (r, d) => Colinear(Models(r, d, 2, 2000), 50), P(("max_iter", 10), ("tol", 1e-3))),
        ["karcher-zero-start"] = new(new KarcherMethod(), new ReferenceKarcher(), [300],
            (r, d) => Opposed(Models(r, d, 2, 300)), P(("max_iter", 0), ("tol", 1e-5))),
        ["karcher-invalid"] = new(new KarcherMethod(), new ReferenceKarcher(), [300],
            (r, d) => Zeroed(Models(r, d, 3, 300), 1), P(("max_iter", 3), ("tol", 1e-5))),
        ["arcee_fusion"] = new(new ArceeFusionMethod(), new ReferenceArceeFusion(), [67, 131],
            (r, d) => WithBase(r, d, 1, 67 * 131, 0.05f)),
        ["arcee_fusion-vector"] = new(new ArceeFusionMethod(), new ReferenceArceeFusion(), [3000],
            (r, d) => WithBase(r, d, 1, 3000, 0.05f)),
        ["arcee_fusion-specials"] = new(new ArceeFusionMethod(), new ReferenceArceeFusion(), [20, 50],
            (r, d) => Specials(WithBase(r, d, 1, 1000, 0.05f), r)),
    };

    private static Dictionary<string, double> Nuslerp(bool flatten, bool rowWise) =>
        P(("nuslerp_flatten", flatten ? 1 : 0), ("nuslerp_row_wise", rowWise ? 1 : 0));

    private static Dictionary<string, double> Multislerp(bool normalize) =>
        P(("normalize_weights", normalize ? 1 : 0), ("eps", 1e-8));

    /// <summary>Makes the second model's vectors (every <paramref name="period"/>-th row or column) multiples of the first's.</summary>
    private static (List<Input>, float[]?) Colinear((List<Input> Inputs, float[]? Base) data, int period)
    {
        var a = data.Inputs[0].Values;
        var b = data.Inputs[1].Values;
        for (var e = 0; e < a.Length; e++)
        {
            if (e / period % 3 == 0)
            {
                b[e] = data.Base is null ? 2 * a[e] : data.Base[e] + 2 * (a[e] - data.Base[e]);
            }
        }

        return data;
    }

    /// <summary>The second model is the first mirrored through the base (or the origin): the task vectors cancel.</summary>
    private static (List<Input>, float[]?) Opposed((List<Input> Inputs, float[]? Base) data)
    {
        var a = data.Inputs[0].Values;
        var b = data.Inputs[1].Values;
        for (var e = 0; e < a.Length; e++)
        {
            b[e] = data.Base is null ? -a[e] : 2 * data.Base[e] - a[e];
        }

        return data;
    }

    private static (List<Input>, float[]?) Zeroed((List<Input> Inputs, float[]? Base) data, int model)
    {
        Array.Clear(data.Inputs[model].Values);
        return data;
    }

    /// <summary>Task vectors from a handful of values, so many entries share a variance (ties at the threshold).</summary>
    private static (List<Input>, float[]?) Quantized((List<Input> Inputs, float[]? Base) data, Random random)
    {
        foreach (var input in data.Inputs)
        {
            for (var e = 0; e < input.Values.Length; e++)
            {
                input.Values[e] = data.Base![e] + random.Next(-2, 3) / 64f;
            }
        }

        for (var e = 0; e < data.Base!.Length; e++)
        {
            data.Base[e] = 1f;
        }

        return data;
    }

    /// <summary>A few infinite task-vector entries (NaN variances, and NaN where the mask zeroes them).</summary>
    private static (List<Input>, float[]?) Infinities((List<Input> Inputs, float[]? Base) data, Random random)
    {
        for (var k = 0; k < 3; k++)
        {
            data.Inputs[random.Next(data.Inputs.Count)].Values[random.Next(data.Base!.Length)] = float.PositiveInfinity;
        }

        return data;
    }

    /// <summary>A base and <paramref name="models"/> fine-tunes that differ from it by small offsets, some exactly zero.</summary>
    private static (List<Input>, float[]) WithBase(Random random, DType dtype, int models, int count, float spread,
        IReadOnlyDictionary<string, double>? parameters = null)
    {
        var b = Values(random, dtype, count, 1f);
        var inputs = new List<Input>();
        for (var m = 0; m < models; m++)
        {
            var x = new float[count];
            for (var e = 0; e < count; e++)
            {
                x[e] = random.Next(5) == 0 ? b[e] : FloatCodec.Round(dtype, b[e] + Normal(random) * spread);
            }

            inputs.Add(new Input(x, parameters));
        }

        return (inputs, b);
    }

    /// <summary>Independent models without a base.</summary>
    private static (List<Input>, float[]?) Models(Random random, DType dtype, int models, int count,
        Func<int, IReadOnlyDictionary<string, double>?>? parameters = null)
    {
        var inputs = Enumerable.Range(0, models)
            .Select(m => new Input(Values(random, dtype, count, 1f), parameters?.Invoke(m))).ToList();
        return (inputs, null);
    }

    /// <summary>Sprinkles NaN, ±infinity, ±0 and values at the edges of the dtype's range into every tensor.</summary>
    private static (List<Input>, float[]?) Specials((List<Input> Inputs, float[]? Base) data, Random random)
    {
        float[] specials = [float.NaN, -float.NaN, float.PositiveInfinity, float.NegativeInfinity, 0f, -0f, 1e-30f, -65504f];
        foreach (var values in data.Inputs.Select(i => i.Values).Append(data.Base).OfType<float[]>())
        {
            for (var k = 0; k < values.Length / 50; k++)
            {
                values[random.Next(values.Length)] = specials[random.Next(specials.Length)];
            }
        }

        return data;
    }

    private static float[] Values(Random random, DType dtype, int count, float scale) =>
        Enumerable.Range(0, count).Select(_ => FloatCodec.Round(dtype, Normal(random) * scale)).ToArray();

    private static float Normal(Random random) =>
        (float)(Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble()));

    private static uint[] Bits(float[] values) => values.Select(BitConverter.SingleToUInt32Bits).ToArray();
}
