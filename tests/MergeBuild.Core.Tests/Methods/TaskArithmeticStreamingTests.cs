using MergeBuild.Diagnostics;
using MergeBuild.Methods;
using MergeBuild.Tensors;
using static MergeBuild.Core.Tests.Methods.MethodHarness;

namespace MergeBuild.Core.Tests.Methods;

/// <summary>
/// The streamed task-arithmetic family (<see cref="GeneralizedTaskArithmeticMethod.Begin"/>) against the whole-tensor
/// <see cref="GeneralizedTaskArithmeticMethod.Merge"/>: the same bits for every chunk size, shape, dtype and parameter
/// mix, including equal magnitudes at the thresholds, zeros, −0, NaN and infinities.
/// </summary>
public class TaskArithmeticStreamingTests
{
    private const string Tensor = "model.layers.3.mlp.down_proj.weight";
    private static readonly int[] Chunks = [1, 7, 77, 333, 4096];

    private static readonly long[][] Shapes = [[1000], [20, 50], [4, 30, 7], [300, 1], [64, 33]];

    public static TheoryData<string, DType> Methods()
    {
        var data = new TheoryData<string, DType>();
        foreach (var method in new[] { "task_arithmetic", "ties", "dare_ties", "dare_linear", "breadcrumbs", "breadcrumbs_ties", "della", "della_linear" })
        {
            foreach (var dtype in new[] { DType.F32, DType.BF16, DType.F16 })
            {
                data.Add(method, dtype);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Methods))]
    public void Streamed_output_is_bit_identical_to_the_whole_tensor_merge_for_any_chunking(string name, DType dtype)
    {
        Assert.True(MergeMethods.TryGet(name, out var method));
        var seed = 0;
        foreach (var shape in Shapes)
        {
            var count = (int)shape.Aggregate(1L, (a, b) => a * b);
            foreach (var mode in new[] { Data.Smooth, Data.Ties, Data.Special })
            {
                foreach (var (perModel, global) in ParameterSets(name))
                {
                    seed++;
                    var (inputs, baseValues) = Make(count, perModel, mode, dtype, seed);
                    var expected = StreamHarness.Bits(StreamHarness.Whole(method, inputs, baseValues, global, shape,
                        dtype, Tensor, (ulong)seed));
                    uint[]? firstRun = null;
                    foreach (var chunk in Chunks)
                    {
                        foreach (var streamed in Variants(method))
                        {
                            var actual = StreamHarness.Bits(StreamHarness.Run(streamed, inputs, baseValues, chunk, global,
                                shape, dtype, Tensor, (ulong)seed));
                            var where = $"{streamed.GetType().Name} {dtype} shape [{string.Join(',', shape)}] {mode} " +
                                        $"params #{seed} chunk {chunk}";
                            AssertSame(expected, actual, nanBitsMatter: false, where);
                            AssertSame(firstRun ??= actual, actual, nanBitsMatter: true, where + " vs the first run");
                        }
                    }
                }
            }
        }
    }

    /// <summary>
    /// The method, and for DARE and DELLA also an instance that draws (and ranks) again in the output pass instead of
    /// keeping the mask as bits.
    /// </summary>
    private static IEnumerable<IMergeMethod> Variants(IMergeMethod method)
    {
        yield return method;
        IMergeMethod? uncached = method switch
        {
            DellaMethod => new DellaMethod { MaskCacheElements = 0 },
            DellaLinearMethod => new DellaLinearMethod { MaskCacheElements = 0 },
            DareTiesMethod => new DareTiesMethod { MaskCacheElements = 0 },
            DareLinearMethod => new DareLinearMethod { MaskCacheElements = 0 },
            _ => null,
        };
        if (uncached is not null)
        {
            yield return uncached;
        }
    }

    /// <summary>
    /// Bitwise equality; where two NaNs meet in one operation the whole-tensor code returns whichever operand the JIT
    /// placed first, so against it a NaN only has to be a NaN. Between streamed runs every bit must agree.
    /// </summary>
    private static void AssertSame(uint[] expected, uint[] actual, bool nanBitsMatter, string where)
    {
        static bool IsNaN(uint bits) => (bits & 0x7FFF_FFFF) > 0x7F80_0000;
        var first = Enumerable.Range(0, expected.Length).FirstOrDefault(
            i => expected[i] != actual[i] && (nanBitsMatter || !(IsNaN(expected[i]) && IsNaN(actual[i]))), -1);
        Assert.True(first < 0,
            $"{where}: element {first} is 0x{(first < 0 ? 0 : actual[first]):X8}, expected 0x{(first < 0 ? 0 : expected[first]):X8}");
    }

    [Theory]
    [InlineData("task_arithmetic", DType.BF16, false, 0, true)]
    [InlineData("dare_linear", DType.BF16, false, 0, true)]
    [InlineData("dare_ties", DType.BF16, true, 1, false)]
    [InlineData("ties", DType.BF16, false, 1, false)]
    [InlineData("ties", DType.F32, false, 2, false)]
    [InlineData("ties", DType.BF16, true, 2, false)]
    [InlineData("breadcrumbs", DType.F16, true, 3, false)]
    [InlineData("della", DType.BF16, true, 1, false)]
    public void Statistics_passes_are_only_those_a_statistic_needs(string name, DType dtype, bool rescale, int passes,
        bool independent)
    {
        Assert.True(MergeMethods.TryGet(name, out var method));
        var (inputs, baseValues) = Make(200, P(("weight", 1), ("density", 0.5), ("gamma", 0.01), ("epsilon", 0.1)),
            Data.Smooth, dtype, 1);
        var state = method.Begin(Job(inputs, baseValues, P(("rescale", rescale ? 1 : 0)), [10, 20], dtype, Tensor));
        Assert.Equal(passes, state.StatisticsPasses);
        Assert.Equal(independent, state.StatisticsPasses == 0 && state.ChunksAreIndependent);
    }

    [Theory]
    [InlineData("ties")]
    [InlineData("breadcrumbs_ties")]
    [InlineData("dare_ties")]
    [InlineData("della")]
    public void State_is_bounded_by_histograms_and_rows_not_by_the_tensor(string name)
    {
        // A 4096 × 65536 bf16 tensor (256M elements, 1 GiB as float32): per model at most a few histograms and a few
        // buffers of one 65536-entry row, not the tensor.
        Assert.True(MergeMethods.TryGet(name, out var method));
        var p = P(("weight", 1), ("density", 0.5), ("gamma", 0.01), ("epsilon", 0.1));
        var job = Job([new([], p), new([], p), new([], p)], [], P(("rescale", 1)), [4096, 65536], DType.BF16, Tensor);
        var state = method.Begin(job);
        Assert.InRange(state.StateBytes, 0, 3 * ((1L << 20) + 64L * 65536));
    }

    [Fact]
    public void A_density_that_keeps_nothing_fails_on_the_worker_with_the_recipe_error()
    {
        Assert.True(MergeMethods.TryGet("ties", out var method));
        var (inputs, baseValues) = Make(5, P(("weight", 1), ("density", 0.1)), Data.Smooth, DType.F32, 3);
        var state = method.Begin(Job(inputs, baseValues, null, [5], DType.F32, "model.norm.weight"));
        Assert.Equal(1, state.StatisticsPasses);
        var error = Assert.Throws<MergeBuildException>(() => state.EndPass(0));
        Assert.Equal(ErrorCodes.ParameterOutOfRange, error.Code);
        Assert.Contains("model.norm.weight", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Della_ramp_errors_surface_from_the_stream_too()
    {
        Assert.True(MergeMethods.TryGet("della", out var method));
        var (inputs, baseValues) = Make(6, P(("weight", 1), ("density", 0.9), ("epsilon", 0.15)), Data.Smooth, DType.F32, 4);
        var state = method.Begin(Job(inputs, baseValues, null, [2, 3], DType.F32, Tensor));
        var error = Assert.Throws<MergeBuildException>(() => state.EndPass(0));
        Assert.Equal(ErrorCodes.ParameterOutOfRange, error.Code);
    }

    [Fact]
    public void Exact_vector_sums_match_the_sequential_double_sum()
    {
        // Values spanning many binades, with and without the fast path (large running sums force the slow one).
        var random = new Random(5);
        foreach (var dtype in new[] { DType.BF16, DType.F16, DType.F32 })
        {
            for (var trial = 0; trial < 50; trial++)
            {
                var values = Enumerable.Range(0, 5000).Select(_ => FloatCodec.Round(dtype,
                    (float)((random.NextDouble() - 0.5) * Math.Pow(2, random.Next(-30, trial % 5 == 0 ? 40 : 4))))).ToArray();
                var streamed = new OrderedL1Sum(dtype);
                var expected = 0.0;
                for (var start = 0; start < values.Length; start += 97 + trial)
                {
                    var part = values.AsSpan(start, Math.Min(97 + trial, values.Length - start));
                    streamed.Add(part);
                    foreach (var v in part)
                    {
                        expected += Math.Abs(v);
                    }

                    Assert.Equal(BitConverter.DoubleToInt64Bits(expected), BitConverter.DoubleToInt64Bits(streamed.Sum));
                }
            }
        }
    }

    [Fact]
    public void Radix_ranks_equal_the_sorted_ranks()
    {
        var random = new Random(6);
        foreach (var dtype in new[] { DType.BF16, DType.F16, DType.F32 })
        {
            var ranker = new LineRanker(dtype);
            foreach (var (length, stride) in new[] { (1, 1), (2, 1), (50, 1), (300, 3), (5000, 1) })
            {
                var values = Enumerable.Range(0, length * stride)
                    .Select(_ => FloatCodec.Round(dtype, random.Next(3) == 0
                        ? (float)(random.Next(-20, 20) * Math.Pow(2, random.Next(-3, 3)))
                        : (float)((random.NextDouble() - 0.5) * Math.Pow(2, random.Next(-40, 10))))).ToArray();
                for (var line = 0; line < stride; line++)
                {
                    var expected = new int[length];
                    MagnitudeRanking.RankLine(values, line, length, stride, new ulong[length], expected);
                    var actual = new int[length];
                    ranker.Rank(values, line, length, stride, actual);
                    Assert.Equal(expected, actual);
                }
            }
        }
    }

    private enum Data
    {
        /// <summary>Continuous values: few equal magnitudes.</summary>
        Smooth,

        /// <summary>Task vectors on a coarse grid: many equal magnitudes at every threshold.</summary>
        Ties,

        /// <summary>Ties plus zeros, −0, NaNs of both signs and infinities.</summary>
        Special,
    }

    private static IEnumerable<(Dictionary<string, double>[] PerModel, Dictionary<string, double> Global)> ParameterSets(string name)
    {
        Dictionary<string, double> G(int rescale, int normalize, double lambda) =>
            P(("rescale", rescale), ("normalize", normalize), ("lambda", lambda));

        switch (name)
        {
            case "task_arithmetic":
                yield return ([P(("weight", 1)), P(("weight", 0.5)), P(("weight", -0.3))], G(0, 0, 1));
                yield return ([P(("weight", 0.7)), P(("weight", 0.3))], G(0, 1, 0.6));
                yield return ([], G(0, 0, 1));
                break;
            case "ties":
                yield return ([P(("weight", 1), ("density", 0.5)), P(("weight", 0.5), ("density", 0.3)), P(("weight", -0.3), ("density", 1))], G(0, 1, 1));
                yield return ([P(("weight", 0.7), ("density", 0.9)), P(("weight", 0.3), ("density", 0.21))], G(1, 0, 0.6));
                yield return ([P(("weight", 1), ("density", 0.999))], G(1, 1, 1));
                break;
            case "dare_ties" or "dare_linear":
                yield return ([P(("weight", 1), ("density", 0.5)), P(("weight", 0.5), ("density", 0.3)), P(("weight", -0.3), ("density", 1))], G(1, 0, 1));
                yield return ([P(("weight", 0.7), ("density", 0.9)), P(("weight", 0.3), ("density", 0))], G(0, 1, 0.6));
                yield return ([P(("weight", 1), ("density", 0.01)), P(("weight", 2), ("density", 0.6))], G(1, 1, 1.5));
                break;
            case "breadcrumbs" or "breadcrumbs_ties":
                yield return ([P(("weight", 1), ("density", 0.5), ("gamma", 0.02)), P(("weight", 0.5), ("density", 0.9), ("gamma", 0.3)), P(("weight", -0.3), ("density", 1), ("gamma", 0.1))], G(0, 0, 1));
                yield return ([P(("weight", 0.7), ("density", 0.9), ("gamma", 0)), P(("weight", 0.3), ("density", 0), ("gamma", 0.01))], G(1, 1, 0.6));
                yield return ([P(("weight", 1), ("density", 0.95), ("gamma", 0.2))], G(1, 0, 1));
                break;
            default:
                yield return ([P(("weight", 1), ("density", 0.5), ("epsilon", 0.1)), P(("weight", 0.5), ("density", 0.3), ("epsilon", 0.2)), P(("weight", -0.3), ("density", 1), ("epsilon", 0.5))], G(1, 1, 1));
                yield return ([P(("weight", 0.7), ("density", 0.7), ("epsilon", 0.05)), P(("weight", 0.3), ("density", 0), ("epsilon", 0.1))], G(0, 0, 0.6));
                yield return ([P(("weight", 1), ("density", 0.4), ("epsilon", 0.35))], G(1, 0, 1));
                break;
        }
    }

    private static (Input[] Inputs, float[] Base) Make(int count, Dictionary<string, double> parameters, Data mode,
        DType dtype, int seed) => Make(count, [parameters, parameters, parameters], mode, dtype, seed);

    private static (Input[] Inputs, float[] Base) Make(int count, Dictionary<string, double>[] perModel, Data mode,
        DType dtype, int seed)
    {
        var random = new Random(seed);
        var baseValues = Enumerable.Range(0, count).Select(_ => FloatCodec.Round(dtype,
            mode == Data.Special && random.Next(50) == 0 ? float.NaN : (float)(random.NextDouble() - 0.5))).ToArray();
        float Value(int i)
        {
            var b = baseValues[i];
            if (mode == Data.Special && random.Next(25) == 0)
            {
                return random.Next(7) switch
                {
                    0 => float.NaN,
                    6 => BitConverter.UInt32BitsToSingle(0x7FC00000),
                    1 => float.PositiveInfinity,
                    2 => float.NegativeInfinity,
                    3 => -0f,
                    4 => 0f,
                    _ => b,
                };
            }

            return mode == Data.Smooth
                ? b + (float)((random.NextDouble() - 0.5) * Math.Pow(2, random.Next(-12, -2)))
                : b + random.Next(-3, 4) * 0.125f;
        }

        var inputs = perModel.Select(p => new Input(
            Enumerable.Range(0, count).Select(i => FloatCodec.Round(dtype, Value(i))).ToArray(), p)).ToArray();
        return (inputs, baseValues);
    }
}
