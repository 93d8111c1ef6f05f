using MergeBuild.Methods;
using MergeBuild.Methods.Geometric;
using MergeBuild.Methods.Misc;
using MergeBuild.Tensors;
using static MergeBuild.Gpu.Tests.KernelHarness;

namespace MergeBuild.Gpu.Tests;

/// <summary>
/// Each GPU kernel against its CPU method on random weight-like data with special values mixed in, in every
/// compute dtype: the output bits must be identical. On ILGPU's CPU accelerator this checks the kernels' shared
/// generic body (operation order, roundings, NaN handling); where a CUDA device exists the same checks run on it too.
/// Without one, the CUDA arithmetic is checked only as PTX text by <see cref="PtxCodeTests"/>.
/// </summary>
public class KernelEquivalenceTests
{
    private const int Count = 1000;

    public static TheoryData<DType> DTypes => new() { DType.F32, DType.BF16, DType.F16 };

    [Theory]
    [MemberData(nameof(DTypes))]
    public void Linear_matches_the_cpu_method(DType dtype)
    {
        var random = new Random(1);
        var inputs = Enumerable.Range(0, 3).Select(_ => Bits.Weights(random, Count, dtype)).ToArray();
        var weights = new[] { P(("weight", 0.3)), P(("weight", 0.7)), P(("weight", 0.55)) };
        AssertSameBits(new LinearMethod(), inputs, null, dtype, P(("normalize", 1)), weights);
        AssertSameBits(new LinearMethod(), inputs, null, dtype, P(("normalize", 0)), weights, chunk: 77);
    }

    [Theory]
    [MemberData(nameof(DTypes))]
    public void Linear_with_a_zero_weight_sum_gives_the_cpu_methods_infinities_and_nans(DType dtype)
    {
        var random = new Random(2);
        var inputs = Enumerable.Range(0, 2).Select(_ => Bits.Weights(random, Count, dtype)).ToArray();
        AssertSameBits(new LinearMethod(), inputs, null, dtype, P(("normalize", 1)),
            [P(("weight", 1.0)), P(("weight", -1.0))]);
    }

    [Theory]
    [MemberData(nameof(DTypes))]
    public void Task_arithmetic_matches_the_cpu_method(DType dtype)
    {
        var random = new Random(3);
        var baseValues = Bits.Weights(random, Count, dtype);
        var inputs = Enumerable.Range(0, 3).Select(_ => Bits.Near(random, baseValues, dtype)).ToArray();
        var weights = new[] { P(("weight", 0.5)), P(("weight", -0.3)), P(("weight", 0.9)) };
        AssertSameBits(new TaskArithmeticMethod(), inputs, baseValues, dtype,
            P(("normalize", 0), ("lambda", 0.8)), weights);
        AssertSameBits(new TaskArithmeticMethod(), inputs, baseValues, dtype,
            P(("normalize", 1), ("lambda", 1.0)), weights, chunk: 64);
    }

    [Theory]
    [MemberData(nameof(DTypes))]
    public void Task_arithmetic_with_parameters_left_to_the_catalog_defaults_matches_the_cpu_method(DType dtype)
    {
        var random = new Random(4);
        var baseValues = Bits.Weights(random, Count, dtype);
        var inputs = Enumerable.Range(0, 2).Select(_ => Bits.Near(random, baseValues, dtype)).ToArray();
        AssertSameBits(new TaskArithmeticMethod(), inputs, baseValues, dtype,
            perModel: [P(("weight", 0.4)), P(("weight", 0.6))]);
    }

    [Theory]
    [MemberData(nameof(DTypes))]
    public void Passthrough_with_a_scale_matches_the_cpu_method(DType dtype)
    {
        var random = new Random(5);
        var input = Bits.Weights(random, Count, dtype);
        AssertSameBits(new PassthroughMethod(), [input], null, dtype, perModel: [P(("scale", 0.3))]);
        AssertSameBits(new PassthroughMethod(), [input], null, dtype, perModel: [P()]);
    }

    [Theory]
    [MemberData(nameof(DTypes))]
    public void Nearswap_matches_the_cpu_method(DType dtype)
    {
        var random = new Random(6);
        var baseValues = Bits.Weights(random, Count, dtype);
        var input = Bits.Near(random, baseValues, dtype);
        foreach (var t in new[] { 0.001, 0.05, 0.0 })
        {
            AssertSameBits(new NearswapMethod(), [input], baseValues, dtype, P(("t", t)));
        }
    }

    [Theory]
    [MemberData(nameof(DTypes))]
    public void Ram_matches_the_cpu_method(DType dtype)
    {
        var random = new Random(7);
        var baseValues = Bits.Weights(random, Count, dtype);
        var inputs = Enumerable.Range(0, 3).Select(_ => Bits.Near(random, baseValues, dtype)).ToArray();
        AssertSameBits(new RamMethod(), inputs, baseValues, dtype, P(("epsilon", 1e-5)));
        AssertSameBits(new RamMethod(), inputs, baseValues, dtype, P(("epsilon", 0.0)), chunk: 100);
    }

    [Fact]
    public void Methods_without_a_kernel_stay_on_the_cpu()
    {
        var provider = Emulator.Provider();
        var ties = new TiesMethod();
        Assert.Same(ties, provider.Resolve(ties));
        Assert.False(provider.HasKernel(ties));
        Assert.True(provider.HasKernel(new LinearMethod()));

        // Chunk and window sizes change only for GPU methods; CPU methods keep their cache-sized chunks.
        var options = new Execution.MergeOptions { Threads = 8 };
        Assert.Same(options, provider.Configure(ties, options));
        var configured = provider.Configure(provider.Resolve(new LinearMethod()), options);
        Assert.Equal(GpuMethodProvider.DefaultLaunchElements, configured.ChunkElements);
        Assert.Equal(GpuMethodProvider.DefaultLaunchElements, configured.WindowElements);
        Assert.Equal(GpuMethodProvider.MaxThreads, configured.Threads);
    }
}
