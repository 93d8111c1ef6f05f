using System.CommandLine;
using MergeBuild.Caching;
using MergeBuild.Checkpoints;
using MergeBuild.Diagnostics;
using MergeBuild.Execution;
using MergeBuild.Fingerprints;
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
        var memoryBudget = new Option<string?>("--memory-budget")
        {
            Description = "Most memory that tensors needing a whole-tensor statistic may hold at once, e.g. 512M or 2G " +
                          "(default 1G); peak memory then grows with the largest tensor, not with the model.",
        };
        var bufferedOutput = new Option<bool>("--buffered-output")
        {
            Description = "Write the merged model through the page cache instead of around it, for an output read at once " +
                          "that fits in memory (Linux; elsewhere it always is).",
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
        var hashMemo = new Option<string?>("--hash-memo")
        {
            Description = "The file remembering input content hashes by size and time (default: content-hashes.tsv in " +
                          "the cache folder, none with --cache-mode off). The MSBuild tasks pass theirs, so a build reads " +
                          "each input once.",
            Hidden = true,
        };

        var command = new Command("merge", "Merge the models a recipe names into OUT.")
        {
            recipe, output, shardSize, copyTokenizer, noCopyTokenizer, allowCrimes, seed, threads, noCard, quiet,
            intermediateDir, truncate, loraCache, noGates, gatesReport, baselineCache, device, memoryBudget, bufferedOutput, fingerprint, hashMemo,
        };
        var cache = new CacheOptions();
        foreach (var option in cache.All)
        {
            command.Options.Add(option);
        }

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
                MaxShardBytes = DecimalSize.Parse(parse.GetValue(shardSize)!, "--out-shard-size"),
                CopyTokenizer = !parse.GetValue(noCopyTokenizer),
                Threads = threadCount,
                RandomSeed = parse.GetValue(seed) ?? MergeOptions.DefaultRandomSeed,
                WriteModelCard = !parse.GetValue(noCard),
                Fingerprint = parse.GetValue(fingerprint),
                WriteAroundPageCache = !parse.GetValue(bufferedOutput),
            };
            if (parse.GetValue(memoryBudget) is { } budget)
            {
                options = options with { MemoryBudgetBytes = MemorySize.Parse(budget, "--memory-budget") };
            }

            var recipePath = parse.GetValue(recipe)!;
            var recipes = RecipeParser.ParseFile(recipePath);
            var planOptions = new PlanOptions
            {
                AllowCrimes = parse.GetValue(allowCrimes),
                TruncateEmbeddings = parse.GetValue(truncate),
                LoraCacheDirectory = parse.GetValue(loraCache),
            };
            var isQuiet = parse.GetValue(quiet);
            if (recipes.Documents.Count == 1)
            {
                // Single documents are planned up front so warnings appear before any work starts. Warnings are printed
                // even with --quiet (which only silences progress): the MSBuild task runs quietly and turns these
                // lines into build warnings.
                foreach (var warning in MergePlanner.Plan(recipes, planOptions).Warnings)
                {
                    cli.Error.WriteLine($"{recipePath}: warning: {warning}");
                }
            }

            // A misspelt device is an error before any work; the device itself is opened only to merge, not to restore.
            var deviceChoice = parse.GetValue(device)!;
            Gpu.DeviceSelection.Parse(deviceChoice);

            var display = isQuiet ? null : new ProgressDisplay(cli.Output, cli.Interactive);
            var outputPath = parse.GetValue(output)!;
            var cacheSettings = cache.Settings(parse, recipes, cli.Environment);
            void Merge()
            {
                using var engine = DeviceOption.Open(deviceChoice, recipes, cli.Output, isQuiet);
                var mergeOptions = engine is null ? options : options with { MethodProvider = new GpuMethodProvider(engine) };
                RecipeMerge.Execute(recipes, outputPath, mergeOptions, planOptions,
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
            }

            // One content-hash memo serves the fingerprint and the merge's input check: each input is read once.
            var memoPath = parse.GetValue(hashMemo) ??
                           (cacheSettings.Mode == CacheMode.Off ? null : Path.Combine(cacheSettings.Directory, "content-hashes.tsv"));
            var hashes = memoPath is null ? null : ContentHashCache.Load(memoPath);
            if (hashes is not null)
            {
                options = options with { InputHasher = hashes };
            }

            if (cacheSettings.Mode == CacheMode.Off)
            {
                Merge();
                SaveMemo(hashes, memoPath);
            }
            else
            {
                // With a cache there is always a memo (the cache folder's when no other was given).
                var (memo, memoFile) = (hashes!, memoPath!);
                var fingerprint = Fingerprint(recipes, options, planOptions, memo, memoFile);
                void MergeThenCheckInputs()
                {
                    Merge();

                    // The merge checks its inputs did not change while it read them, but an input changed between
                    // fingerprinting and the merge's start would be stored under the old fingerprint: compare again
                    // (the content-hash memo re-reads only files whose size or time moved).
                    if (Fingerprint(recipes, options, planOptions, memo, memoFile) != fingerprint)
                    {
                        Execution.OutputMarker.Invalidate(outputPath, "an input changed during the merge");
                        throw new MergeBuildException(ErrorCodes.CheckpointIo,
                            "An input model changed while this merge was being prepared; the output is not cached and " +
                            "not marked as built.", new SourceLocation(recipePath), "Build again once the inputs stop changing.");
                    }
                }

                var outcome = CachedMerge.Run(cacheSettings, fingerprint, outputPath, MergeThenCheckInputs,
                    warning => cli.Error.WriteLine(warning.ToString()), cancellationToken);
                if (outcome.RestoredMessage is { } restored)
                {
                    if (options.Fingerprint is { } buildFingerprint)
                    {
                        // The restored output is this build's merge: record the build's fingerprint as a merge would.
                        Execution.OutputMarker.Write(outputPath, buildFingerprint);
                    }

                    cli.Output.WriteLine($"{recipePath} → {outputPath}: {restored}");
                }

                if (outcome.PackagesPublished > 0)
                {
                    cli.Output.WriteLine($"{recipePath} → {outputPath}: published to the cache feed {cacheSettings.Feed} " +
                                         $"({outcome.PackagesPublished} packages)");
                }
            }

            var finalFolder = Path.TrimEndingDirectorySeparator(Path.GetFullPath(outputPath));
            if (!parse.GetValue(noGates) && Recipes.Gates.GateParser.Parse(recipes).Count > 0)
            {
                var reportFolder = parse.GetValue(gatesReport) ?? Path.TrimEndingDirectorySeparator(outputPath) + ".gates";
                if (!GateRun.Run(cli, recipes, finalFolder, reportFolder, parse.GetValue(baselineCache), isQuiet))
                {
                    // The merged files stay for inspection, but no build treats them as done.
                    Execution.OutputMarker.Invalidate(finalFolder, "its gates failed");
                    return MergeBuildCli.UserError;
                }
            }

            return 0;
        })));
        return command;
    }

    /// <summary>
    /// The merge's fingerprint, with input content hashes remembered in the cache folder so a rebuild that restores
    /// does not re-read gigabytes of unchanged weights.
    /// </summary>
    private static string Fingerprint(RecipeSet recipes, MergeOptions options, PlanOptions planOptions,
        ContentHashCache hashes, string memo)
    {
        var fingerprint = MergeFingerprint.Compute(recipes, new FingerprintOptions
        {
            Seed = options.RandomSeed,
            MaxShardBytes = options.MaxShardBytes,
            CopyTokenizer = options.CopyTokenizer,
            TruncateEmbeddings = planOptions.TruncateEmbeddings,
            WriteModelCard = options.WriteModelCard,
        }, hashes);
        SaveMemo(hashes, memo);
        return fingerprint.Value;
    }

    private static void SaveMemo(ContentHashCache? hashes, string? path)
    {
        if (hashes is null || path is null)
        {
            return;
        }

        try
        {
            hashes.Save(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Only a speed-up is lost.
        }
    }
}
