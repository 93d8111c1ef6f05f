using System.CommandLine;
using System.Globalization;
using MergeBuild.Benchmarks;
using MergeBuild.Diagnostics;
using MergeBuild.Execution;

namespace MergeBuild.Cli.Commands;

/// <summary>
/// <c>mergebuild bench</c>: synthetic models in a temporary folder, then each method and a plain read+write of the same
/// files, alternately: wall time, GB/s of traffic, peak RSS and the ratio to the baseline.
/// </summary>
internal static class BenchCommand
{
    public static Command Create(MergeBuildCli cli)
    {
        var size = new Option<string>("--size")
        {
            Description = "Size of each synthetic model in bytes (k/m/b suffixes x1000).",
            DefaultValueFactory = _ => "1b",
        };
        var models = new Option<int>("--models") { Description = "Fine-tuned models to merge.", DefaultValueFactory = _ => 3 };
        var methods = new Option<string?>("--methods") { Description = "Comma-separated methods (default: all)." };
        var folder = new Option<string?>("--dir") { Description = "Where to write the models (default: the temp folder)." };
        var threads = new Option<int>("--threads", "-j")
        {
            Description = "Worker threads.",
            DefaultValueFactory = _ => Environment.ProcessorCount,
        };
        var dtype = new Option<string>("--dtype") { Description = "Compute dtype.", DefaultValueFactory = _ => "bfloat16" };
        var keep = new Option<bool>("--keep") { Description = "Keep the synthetic models (reused by the next run in --dir)." };
        var repeats = new Option<int>("--repeat")
        {
            Description = "Runs of each method, alternating with its baseline; the fastest of each is reported.",
            DefaultValueFactory = _ => 3,
        };
        var command = new Command("bench", "Measure merge throughput against a plain read+write of the same bytes.")
        {
            size, models, methods, folder, threads, dtype, keep, repeats,
        };
        command.SetAction(parse => cli.Guard(() =>
        {
            var options = new BenchmarkOptions
            {
                ModelBytes = DecimalSize.Parse(parse.GetValue(size)!, "--size"),
                Models = parse.GetValue(models),
                Methods = parse.GetValue(methods)?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                          ?? BenchmarkRecipes.Methods,
                Folder = parse.GetValue(folder) ?? Path.Combine(Path.GetTempPath(), "mergebuild-bench-" + Environment.ProcessId),
                Threads = parse.GetValue(threads),
                DType = parse.GetValue(dtype)!,
                KeepModels = parse.GetValue(keep),
                Repeats = parse.GetValue(repeats),
            };
            if (options.Repeats < 1)
            {
                throw new MergeBuildException(ErrorCodes.InvalidOption, $"--repeat must be at least 1, not {options.Repeats}.");
            }

            if (options.Methods.FirstOrDefault(m => !BenchmarkRecipes.Methods.Contains(m)) is { } unknown)
            {
                throw new MergeBuildException(ErrorCodes.InvalidOption,
                    $"--methods: there is no benchmark of '{unknown}'. Known: {string.Join(", ", BenchmarkRecipes.Methods)}.");
            }

            cli.Output.WriteLine(
                $"{"method",-22} {"wall",9} {"GB/s",7} {"copy wall",10} {"copy GB/s",9} {"peak RSS",10} {"ratio",6} {"beside",7}");
            foreach (var row in MergeBenchmark.Run(options, line => cli.Output.WriteLine("# " + line)))
            {
                cli.Output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{row.Name,-22} {row.Elapsed.TotalSeconds,8:0.000}s {row.GigabytesPerSecond,7:0.00} " +
                    $"{row.BaselineElapsed.TotalSeconds,9:0.000}s {row.BaselineGigabytesPerSecond,9:0.00} " +
                    $"{row.PeakRss / 1e6,8:0} MB {row.Ratio,6:0.00} {row.AdjacentRatio,7:0.00}"));
                cli.Output.Flush();
            }

            return 0;
        }));
        return command;
    }
}
