using System.Diagnostics;
using System.Globalization;
using MergeBuild.Execution;
using MergeBuild.Fingerprints;
using MergeBuild.Planning;
using MergeBuild.Recipes;

namespace MergeBuild.Benchmarks;

/// <summary>What one benchmark row measured (the fastest of the repeats).</summary>
/// <param name="Name">The method.</param>
/// <param name="Elapsed">Wall time of the merge (planning, reading, computing, writing, flushing).</param>
/// <param name="Bytes">Bytes read plus bytes written by the merge.</param>
/// <param name="PeakRss">Highest resident memory of any repeat.</param>
/// <param name="BaselineElapsed">
/// Wall time of the fastest plain read+write of the same input files and output size in the run, whether it wrote
/// around the page cache (as the engine does) or through it.
/// </param>
/// <param name="BaselineBytes">Bytes the baseline read plus wrote.</param>
/// <param name="AdjacentBaselineElapsed">The fastest of the copies run alternately with this method.</param>
public sealed record BenchmarkRow(string Name, TimeSpan Elapsed, long Bytes, long PeakRss, TimeSpan BaselineElapsed,
    long BaselineBytes, TimeSpan AdjacentBaselineElapsed)
{
    public double GigabytesPerSecond => Bytes / Elapsed.TotalSeconds / 1e9;

    public double BaselineGigabytesPerSecond => BaselineBytes / BaselineElapsed.TotalSeconds / 1e9;

    /// <summary>The merge's throughput divided by the baseline's (the run's fastest copy of the same files).</summary>
    public double Ratio => GigabytesPerSecond / BaselineGigabytesPerSecond;

    /// <summary>The merge's throughput divided by that of the copies run beside it (same machine state).</summary>
    public double AdjacentRatio => GigabytesPerSecond / (BaselineBytes / AdjacentBaselineElapsed.TotalSeconds / 1e9);
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

    /// <summary>How many times each method and its baseline run, alternately; the fastest run of each is reported.</summary>
    public int Repeats { get; init; } = 3;
}

/// <summary>
/// Creates synthetic models, then measures every method against a plain read+write of the same input files and the
/// same output size, run alternately with it so both see the same machine; reports the fastest run of each method
/// and the ratio of its throughput to the fastest copy of the same files anywhere in the run.
/// </summary>
/// <remarks>
/// On the shared 2-vCPU VM the copy's time for identical bytes moves by a factor of two to three from minute to minute
/// (most likely because freshly allocated page-cache pages cost the hypervisor's page faults), and noise only ever adds
/// time. So every method contributes its interleaved copies to a pool per set of input files (most methods read the
/// same base and fine-tunes), and each ratio divides by the pool's fastest: the yardstick is the best the machine did
/// in this run, not whichever copy happened to run beside the method. Each repeat copies twice, writing around the
/// page cache as the engine does and through it, and the pool takes both: a merge is never compared with a copy
/// slowed by a write path the engine does not use, nor flattered by one.
/// </remarks>
public static class MergeBenchmark
{
    public static IReadOnlyList<BenchmarkRow> Run(BenchmarkOptions options, Action<string> log)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(log);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Repeats, 1);
        var shape = SyntheticModels.Shape.ForBytes(options.ModelBytes);
        Directory.CreateDirectory(options.Folder);
        // Kept models of the right size are reused rather than written again.
        var action = options.KeepModels ? "reusing (or writing)" : "writing";
        log($"{action} {options.Models} + 1 synthetic models of {shape.Parameters * 2 / 1e9:0.00} GB " +
            $"(hidden {shape.Hidden}, {shape.Layers} layers, vocab {shape.Vocab}) in {options.Folder}");
        var folders = SyntheticModels.Write(options.Folder, shape, options.Models, reuse: options.KeepModels);
        try
        {
            // Inputs are hashed once up front, as a build's fingerprint step does before it merges; each merge's input
            // check then answers from this memo and re-stats its files (see Execution/InputSnapshot.cs).
            var hashes = new ContentHashCache();
            Parallel.ForEach(folders.SelectMany(Directory.EnumerateFiles), file => hashes.Hash(file));

            // Warms the page cache and the JIT.
            PlainCopyBaseline.Run(folders, Path.Combine(options.Folder, "baseline.bin"), options.Threads);
            var measured = new List<Measurement>();
            foreach (var method in options.Methods)
            {
                var measurement = Measure(method, folders, options, hashes);
                log(string.Create(CultureInfo.InvariantCulture,
                    $"{method}: best {measurement.Merges.Min().TotalSeconds:0.000} s of {measurement.Merges.Count}, " +
                    $"copies beside it best {measurement.DirectCopies.Min().TotalSeconds:0.000} s around the page cache, " +
                    $"{measurement.BufferedCopies.Min().TotalSeconds:0.000} s through it"));
                measured.Add(measurement);
            }

            var fastestCopy = measured.GroupBy(m => m.InputsKey)
                .ToDictionary(g => g.Key, g => g.SelectMany(m => m.Baselines).Min());
            return [.. measured.Select(m => new BenchmarkRow(m.Method, m.Merges.Min(), m.Bytes, m.PeakRss,
                fastestCopy[m.InputsKey], m.BaselineBytes, m.Baselines.Min()))];
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

    /// <summary>Every run of one method and of the copies beside it (writing around the page cache, and through it).</summary>
    private sealed record Measurement(string Method, string InputsKey, List<TimeSpan> Merges, List<TimeSpan> DirectCopies,
        List<TimeSpan> BufferedCopies, long Bytes, long BaselineBytes, long PeakRss)
    {
        public IEnumerable<TimeSpan> Baselines => DirectCopies.Concat(BufferedCopies);
    }

    private static Measurement Measure(string method, IReadOnlyList<string> folders, BenchmarkOptions options,
        IFileHasher hashes)
    {
        var recipePath = Path.Combine(options.Folder, method + ".yml");
        File.WriteAllText(recipePath, BenchmarkRecipes.For(method, folders, options.DType));
        var output = Path.Combine(options.Folder, "out-" + method);
        var inputs = MergePlanner.Plan(RecipeParser.ParseFile(recipePath)).Models.Select(m => m.Path)
            .Distinct(StringComparer.Ordinal).ToList();
        List<TimeSpan> merges = [], baselines = [], bufferedBaselines = [];
        long bytes = 0, baselineBytes = 0, peak = 0;
        for (var repeat = 0; repeat < options.Repeats; repeat++)
        {
            foreach (var aroundPageCache in (bool[])[true, false])
            {
                var (baselineElapsed, moved) = PlainCopyBaseline.Run(inputs, Path.Combine(options.Folder, "baseline.bin"),
                    options.Threads, aroundPageCache);
                (aroundPageCache ? baselines : bufferedBaselines).Add(baselineElapsed);
                baselineBytes = moved;
            }

            GC.Collect();
            ProcessMemory.ResetPeak();
            var stopwatch = Stopwatch.StartNew();
            var plan = MergePlanner.Plan(RecipeParser.ParseFile(recipePath));
            MergeExecutor.Execute(plan, output, new MergeOptions
            {
                Threads = options.Threads,
                WriteModelCard = false,
                InputHasher = hashes,
            });
            stopwatch.Stop();
            merges.Add(stopwatch.Elapsed);
            peak = Math.Max(peak, ProcessMemory.PeakBytes());
            var read = plan.Jobs.Sum(j => j.Inputs.Sum(i => ReadBytes(j, i)) + (j.Base is { } b ? ReadBytes(j, b) : 0));
            bytes = read + plan.OutputBytes;
            Directory.Delete(output, recursive: true);
        }

        File.Delete(recipePath);
        var key = string.Join('|', inputs.Order(StringComparer.Ordinal));
        return new Measurement(method, key, merges, baselines, bufferedBaselines, bytes, baselineBytes, peak);
    }

    private static long ReadBytes(TensorJob job, JobInput input) =>
        job.ElementCount * Tensors.DTypes.SizeOf(input.Tensor.DType);
}
