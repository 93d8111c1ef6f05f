using System.Diagnostics;
using MergeBuild.Execution;
using MergeBuild.Planning;
using MergeBuild.Recipes;

namespace MergeBuild.Benchmarks;

/// <summary>What one benchmark row measured.</summary>
/// <param name="Name">The method, or <c>plain read+write</c> for the baseline.</param>
/// <param name="Elapsed">Wall time of the merge (planning, reading, computing, writing, flushing).</param>
/// <param name="Bytes">Bytes read plus bytes written.</param>
/// <param name="PeakRss">Peak resident memory during the run.</param>
/// <param name="Ratio">Throughput divided by the baseline's.</param>
public sealed record BenchmarkRow(string Name, TimeSpan Elapsed, long Bytes, long PeakRss, double Ratio)
{
    public double GigabytesPerSecond => Bytes / Elapsed.TotalSeconds / 1e9;
}

/// <summary>Options of a benchmark run.</summary>
public sealed record BenchmarkOptions
{
    public long ModelBytes { get; init; } = 1_000_000_000;

    public int Models { get; init; } = 3;

    public IReadOnlyList<string> Methods { get; init; } = BenchmarkRecipes.Methods;

    public string Folder { get; init; } = Path.Combine(Path.GetTempPath(), "mergebuild-bench");

    public int Threads { get; init; } = Environment.ProcessorCount;

    public string DType { get; init; } = "bfloat16";

    public bool KeepModels { get; init; }
}

/// <summary>
/// Creates synthetic models, measures the plain read+write baseline, then every method on the same files, and reports
/// each as a ratio to the baseline measured in the same run.
/// </summary>
public static class MergeBenchmark
{
    public static IEnumerable<BenchmarkRow> Run(BenchmarkOptions options, Action<string> log)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(log);
        var shape = SyntheticModels.Shape.ForBytes(options.ModelBytes);
        Directory.CreateDirectory(options.Folder);
        log($"writing {options.Models} + 1 synthetic models of {shape.Parameters * 2 / 1e9:0.00} GB " +
            $"(hidden {shape.Hidden}, {shape.Layers} layers, vocab {shape.Vocab}) to {options.Folder}");
        var folders = SyntheticModels.Write(options.Folder, shape, options.Models, reuse: options.KeepModels);
        try
        {
            // Twice: the first pass also warms the page cache and the JIT.
            PlainCopyBaseline.Run(folders, Path.Combine(options.Folder, "baseline.bin"), options.Threads);
            ProcessMemory.ResetPeak();
            var (elapsed, bytes) = PlainCopyBaseline.Run(folders, Path.Combine(options.Folder, "baseline.bin"), options.Threads);
            var baseline = new BenchmarkRow("plain read+write", elapsed, bytes, ProcessMemory.PeakBytes(), 1.0);
            yield return baseline;

            foreach (var method in options.Methods)
            {
                yield return Measure(method, folders, options, baseline.GigabytesPerSecond);
            }
        }
        finally
        {
            if (!options.KeepModels)
            {
                foreach (var folder in folders)
                {
                    Directory.Delete(folder, recursive: true);
                }
            }
        }
    }

    private static BenchmarkRow Measure(string method, IReadOnlyList<string> folders, BenchmarkOptions options,
        double baselineGbps)
    {
        var recipePath = Path.Combine(options.Folder, method + ".yml");
        File.WriteAllText(recipePath, BenchmarkRecipes.For(method, folders, options.DType));
        var output = Path.Combine(options.Folder, "out-" + method);
        GC.Collect();
        ProcessMemory.ResetPeak();
        var stopwatch = Stopwatch.StartNew();
        var plan = MergePlanner.Plan(RecipeParser.ParseFile(recipePath));
        MergeExecutor.Execute(plan, output, new MergeOptions { Threads = options.Threads, WriteModelCard = false });
        stopwatch.Stop();
        var peak = ProcessMemory.PeakBytes();
        var read = plan.Jobs.Sum(j => j.Inputs.Sum(i => ReadBytes(j, i)) + (j.Base is { } b ? ReadBytes(j, b) : 0));
        var bytes = read + plan.OutputBytes;
        Directory.Delete(output, recursive: true);
        File.Delete(recipePath);
        var gbps = bytes / stopwatch.Elapsed.TotalSeconds / 1e9;
        return new BenchmarkRow(method, stopwatch.Elapsed, bytes, peak, gbps / baselineGbps);
    }

    private static long ReadBytes(TensorJob job, JobInput input) =>
        job.ElementCount * Tensors.DTypes.SizeOf(input.Tensor.DType);
}
