using System.CommandLine;
using MergeBuild.Checkpoints;
using MergeBuild.Diagnostics;
using MergeBuild.Execution;
using MergeBuild.Gpu;
using MergeBuild.Planning;
using MergeBuild.Recipes;

namespace MergeBuild.Cli.Commands;

/// <summary><c>mergebuild merge RECIPE OUT</c>: mergekit-yaml's job, with its meaningful flags.</summary>
internal static class MergeCommand
{
    public static Command Create(MergeBuildCli cli)
    {
        var recipe = new Argument<string>("recipe") { Description = "The mergekit YAML recipe." };
        var output = new Argument<string>("out") { Description = "The folder to write the merged model to." };
        var shardSize = new Option<string>("--out-shard-size")
        {
            Description = "Largest weight file, in bytes, with k/m/b suffixes (x1000), as mergekit.",
            DefaultValueFactory = _ => "5B",
        };
        var copyTokenizer = new Option<bool>("--copy-tokenizer")
        {
            Description = "Copy the donor's tokenizer files (the default).",
        };
        var noCopyTokenizer = new Option<bool>("--no-copy-tokenizer")
        {
            Description = "Do not copy tokenizer files.",
        };
        var allowCrimes = new Option<bool>("--allow-crimes")
        {
            Description = "Merge models whose architectures differ (you vouch that their tensors line up).",
        };
        var seed = new Option<ulong?>("--random-seed")
        {
            Description = $"Seed for randomized methods (default {MergeOptions.DefaultRandomSeed}); recorded in the model card.",
        };
        var threads = new Option<int>("--threads", "-j")
        {
            Description = "Worker threads (the output is identical for any count).",
            DefaultValueFactory = _ => Environment.ProcessorCount,
        };
        var noCard = new Option<bool>("--no-write-model-card")
        {
            Description = "Do not write README.md and mergekit_config.yml.",
        };
        var truncate = new Option<bool>("--truncate-embeddings")
        {
            Description = "Cut embeddings of different vocabulary sizes to a common size, as mergekit does silently.",
        };
        var loraCache = new Option<string?>("--lora-merge-cache")
        {
            Description = "Where model+lora references are merged to (content-addressed; default: the temp folder).",
        };
        var noGates = new Option<bool>("--no-gates") { Description = "Do not evaluate the recipe's gates after merging." };
        var gatesReport = new Option<string?>("--gates-report")
        {
            Description = "Folder for gates.json, gates.md and gates.html (default: OUT.gates).",
        };
        var baselineCache = new Option<string?>("--baseline-cache")
        {
            Description = "Where input models' gate scores are cached (default: the user's local data folder).",
        };
        var quiet = new Option<bool>("--quiet", "-q") { Description = "Print only errors and the final line." };
        var device = DeviceOption.Create();
        var intermediateDir = new Option<string?>("--intermediate-dir")
        {
            Description = "Multi-document recipes: keep the named intermediate merges in this folder " +
                          "(by default they are written beside OUT and deleted when done).",
        };

        var fingerprint = new Option<string?>("--fingerprint")
        {
            Description = "Record this fingerprint in OUT's marker (the MSBuild tasks pass theirs).",
            Hidden = true,
        };

        var command = new Command("merge", "Merge the models a recipe names into OUT.")
        {
            recipe, output, shardSize, copyTokenizer, noCopyTokenizer, allowCrimes, seed, threads, noCard, quiet,
            intermediateDir, truncate, loraCache, noGates, gatesReport, baselineCache, device, fingerprint,
        };
        command.SetAction((parse, cancellationToken) => Task.FromResult(cli.Guard(() =>
        {
            if (parse.GetValue(copyTokenizer) && parse.GetValue(noCopyTokenizer))
            {
                throw new MergeBuildException(ErrorCodes.InvalidOption,
                    "--copy-tokenizer and --no-copy-tokenizer contradict each other.", hint: "Pass one of them.");
            }

            var threadCount = parse.GetValue(threads);
            if (threadCount < 1)
            {
                throw new MergeBuildException(ErrorCodes.InvalidOption, $"--threads must be at least 1, not {threadCount}.");
            }

            var options = new MergeOptions
            {
                MaxShardBytes = ShardSize.Parse(parse.GetValue(shardSize)!),
                CopyTokenizer = !parse.GetValue(noCopyTokenizer),
                Threads = threadCount,
                RandomSeed = parse.GetValue(seed) ?? MergeOptions.DefaultRandomSeed,
                WriteModelCard = !parse.GetValue(noCard),
                Fingerprint = parse.GetValue(fingerprint),
            };

            var recipePath = parse.GetValue(recipe)!;
            var recipes = RecipeParser.ParseFile(recipePath);
            var planOptions = new PlanOptions
            {
                AllowCrimes = parse.GetValue(allowCrimes),
                TruncateEmbeddings = parse.GetValue(truncate),
                LoraCacheDirectory = parse.GetValue(loraCache),
            };
            var isQuiet = parse.GetValue(quiet);
            if (!isQuiet && recipes.Documents.Count == 1)
            {
                // Single documents are planned up front so warnings appear before any work starts.
                foreach (var warning in MergePlanner.Plan(recipes, planOptions).Warnings)
                {
                    cli.Error.WriteLine($"{recipePath}: warning: {warning}");
                }
            }

            using var engine = DeviceOption.Open(parse.GetValue(device)!, recipes, cli.Output, isQuiet);
            if (engine is not null)
            {
                options = options with { MethodProvider = new GpuMethodProvider(engine) };
            }

            var display = isQuiet ? null : new ProgressDisplay(cli.Output, cli.Interactive);
            var outputPath = parse.GetValue(output)!;
            var result = RecipeMerge.Execute(recipes, outputPath, options, planOptions,
                parse.GetValue(intermediateDir), display, (document, done) =>
                {
                    display?.Finish();
                    var method = document.MergeMethod;
                    var what = document.Name is { } name && document != recipes.Final ? $" '{name}'" : "";
                    cli.Output.WriteLine(
                        $"{recipePath}{what} → {(document == recipes.Final ? outputPath : done.OutputFolder)}: {method}, {done.ModelCount} models, {done.TensorCount} tensors, " +
                        $"{Formatting.Bytes(done.WeightBytes)} in {Formatting.Seconds(done.Elapsed)}");
                    display?.Reset();
                }, cancellationToken);
            if (!parse.GetValue(noGates) && Recipes.Gates.GateParser.Parse(recipes).Count > 0)
            {
                var reportFolder = parse.GetValue(gatesReport) ?? Path.TrimEndingDirectorySeparator(outputPath) + ".gates";
                if (!GateRun.Run(cli, recipes, result.OutputFolder, reportFolder, parse.GetValue(baselineCache), isQuiet))
                {
                    // The merged files stay for inspection, but without the marker no build treats them as done.
                    File.Delete(Path.Combine(result.OutputFolder, Execution.AtomicOutputFolder.MarkerFileName));
                    return MergeBuildCli.UserError;
                }
            }

            return 0;
        })));
        return command;
    }
}
