using MergeBuild.Eval.Benchmarks;
using MergeBuild.Tests;

namespace MergeBuild.Eval.Tests.Benchmarks;

/// <summary>A quick run of the benchmark entry point (the real numbers are in docs/benchmarks.md).</summary>
public class EvalBenchmarkTests
{
    [Fact]
    public void Reports_positive_throughput_for_every_configuration()
    {
        var result = EvalBenchmark.Run(Fixtures.Model("base"),
            new EvalBenchmarkOptions { NewTokens = 4, BatchSize = 3, Repetitions = 1, Threads = 2, WarmUp = TimeSpan.Zero });

        Assert.Equal("base", result.Model);
        Assert.Equal(4, result.NewTokens);
        Assert.All(new[] { result.SingleSequenceOneThread, result.SingleSequenceMultiThread, result.BatchedOneThread,
            result.BatchedMultiThread }, tps => Assert.True(tps > 0));
    }
}
