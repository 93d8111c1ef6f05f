using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.ExceptionServices;
using MergeBuild.Checkpoints;
using MergeBuild.Diagnostics;
using MergeBuild.Methods;
using MergeBuild.Planning;
using MergeBuild.Tensors;

namespace MergeBuild.Execution;

/// <summary>
/// Runs a <see cref="MergePlan"/>: lays out the output shards from shapes alone, then fills each output tensor in
/// place, chunk by chunk for element-wise methods, reading inputs from memory-mapped files. Every output element
/// depends only on the inputs, never on scheduling, so the bytes are the same for any thread count.
/// </summary>
public static class MergeExecutor
{
    public static MergeResult Execute(MergePlan plan, string outputFolder, MergeOptions? options = null,
        IProgress<MergeProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(plan);
        options ??= new MergeOptions();
        if (!MergeMethods.TryGet(plan.Recipe.MergeMethod, out var method))
        {
            throw new MergeBuildException(ErrorCodes.UnsupportedMethod,
                $"'{plan.Recipe.MergeMethod}' cannot run in this version.", plan.Recipe.MergeMethodLocation);
        }

        // A provider (the GPU backend) may swap in another implementation of the same arithmetic, once per run.
        var engine = options.MethodProvider?.Resolve(method) ?? method;
        options = options.MethodProvider?.Configure(engine, options) ?? options;
        var stopwatch = Stopwatch.StartNew();
        var layout = CheckpointLayout.Plan(
            plan.Jobs.Select(j => new PlannedTensor(j.OutputName, j.OutputDType, j.Shape)).ToList(),
            options.MaxShardBytes,
            new Dictionary<string, string> { ["format"] = "pt" });

        using var output = AtomicOutputFolder.Begin(outputFolder);
        var readers = new Dictionary<PlannedModel, CheckpointReader>();
        try
        {
            // Hashed before any byte is read, checked again before the output lands (and quoted in the model card).
            var inputs = InputSnapshot.Take(plan, options.Threads, options.InputHasher);
            foreach (var model in plan.Models)
            {
                readers[model] = CheckpointReader.Open(model.Path);
            }

            using (var writer = CheckpointWriter.Create(output.StagingPath, layout, options.WriteAroundPageCache))
            {
                var run = new MergeRun(engine, readers, writer, options, new ProgressTracker(plan, progress),
                    new MemoryBudget(options.MemoryBudgetBytes), cancellationToken);
                // NoBuffering hands items out in order, one at a time: threads stay close together in the files,
                // which keeps read-ahead useful and resident memory small.
                try
                {
                    Parallel.ForEach(
                        Partitioner.Create(Schedule(WorkItems(plan, method, engine, options)),
                            EnumerablePartitionerOptions.NoBuffering),
                        new ParallelOptions
                        {
                            MaxDegreeOfParallelism = Math.Max(1, options.Threads),
                            CancellationToken = cancellationToken,
                        },
                        () => new TensorWorker(run),
                        (item, _, worker) =>
                        {
                            worker.Run(item);
                            return worker;
                        },
                        _ => { });
                }
                catch (AggregateException e)
                {
                    // A worker's failure (a full disk, a denied write) arrives wrapped; rethrow the error it carries so
                    // it is reported like any other (found by injecting ENOSPC at a tensor write: it exited with 70).
                    ExceptionDispatchInfo.Throw(Unwrap(e));
                }
                writer.Complete();
            }

            var files = layout.Shards.Select(s => output.PathOf(s.FileName)).ToList();
            if (layout.Shards.Count > 1)
            {
                files.Add(output.PathOf("model.safetensors.index.json"));
            }

            files.Add(OutputFiles.WriteConfig(plan, output));
            files.AddRange(OutputFiles.CopySideFiles(plan, output, options.CopyTokenizer));
            if (options.WriteModelCard)
            {
                var card = output.PathOf(ModelCard.FileName);
                File.WriteAllText(card, ModelCard.Render(plan, options, inputs));
                var recipeCopy = output.PathOf(ModelCard.RecipeFileName);
                File.WriteAllText(recipeCopy, plan.RecipeSet.Text);
                FaultInjection.Point("model card written");
                files.Add(card);
                files.Add(recipeCopy);
            }

            // Re-read what was written before it replaces anything: a header that does not parse must never land.
            foreach (var shard in layout.Shards)
            {
                SafetensorsHeader.Read(output.PathOf(shard.FileName));
            }

            // An input that changed while it was read gives an output that matches neither version: never land it.
            inputs.VerifyUnchanged();
            output.Commit(OutputMarker.Render(options.Fingerprint));
            var finalFiles = files.Select(f => Path.Combine(output.Destination, Path.GetFileName(f))).ToList();
            return new MergeResult(output.Destination, finalFiles, plan.Models.Count, plan.Jobs.Count, layout.TotalSize,
                stopwatch.Elapsed);
        }
        catch (IOException e)
        {
            var what = e.HResult == FaultInjection.NoSpaceErrno ? "the disk is full" : e.Message;
            throw new MergeBuildException(ErrorCodes.OutputIo, $"writing the merged model failed: {what}",
                new SourceLocation(outputFolder), "Check free disk space and permissions; nothing was replaced.", e);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new MergeBuildException(ErrorCodes.OutputNotWritable, $"writing the merged model was denied: {e.Message}",
                new SourceLocation(outputFolder), "Check the output folder's permissions; nothing was replaced.", e);
        }
        finally
        {
            foreach (var reader in readers.Values)
            {
                reader.Dispose();
            }
        }
    }

    private static Exception Unwrap(AggregateException e)
    {
        var inner = e.Flatten().InnerExceptions;
        return inner.OfType<MergeBuildException>().FirstOrDefault()
               ?? inner.OfType<OperationCanceledException>().FirstOrDefault()
               ?? (inner.Count == 1 ? inner[0] : e);
    }

    /// <summary>
    /// Orders the work: whole tensors first, largest first, then the windows. A whole tensor runs on one thread, so
    /// when the largest comes last (lm_head, in plan order) the other threads sit idle until it ends; started first,
    /// it runs while the others work through the rest, and the small windows even the threads out at the end.
    /// The order changes which thread computes what, never a byte of the output.
    /// </summary>
    private static IEnumerable<WorkItem> Schedule(IEnumerable<WorkItem> items)
    {
        var all = items.ToList();
        return all.Where(i => i.IsSequential).OrderByDescending(i => i.Job.ElementCount)
            .Concat(all.Where(i => !i.IsSequential));
    }

    /// <summary>
    /// Splits the plan into work items: byte copies and element-wise tensors into windows that threads share; tensors
    /// whose method needs statistics passes or ordered chunks into one item each. Byte copies are decided on the
    /// recipe's CPU <paramref name="method"/>; everything else runs on <paramref name="engine"/> (the provider's choice).
    /// </summary>
    private static IEnumerable<WorkItem> WorkItems(MergePlan plan, IMergeMethod method, IMergeMethod engine,
        MergeOptions options)
    {
        foreach (var job in plan.Jobs)
        {
            if (job.Vocabulary is not null)
            {
                // Re-indexed embeddings are built whole by one worker before the method sees them.
                yield return new WorkItem(job, engine.Begin(job), false, true, 0, job.ElementCount);
                continue;
            }

            if (method is PassthroughMethod && PassthroughMethod.IsByteCopy(job))
            {
                foreach (var (start, count) in Windows(job.ElementCount, options.WindowElements))
                {
                    yield return new WorkItem(job, null, true, false, start, count);
                }

                continue;
            }

            var state = engine.Begin(job);
            if (state.StatisticsPasses == 0 && state.ChunksAreIndependent)
            {
                foreach (var (start, count) in Windows(job.ElementCount, options.WindowElements))
                {
                    yield return new WorkItem(job, state, false, false, start, count);
                }
            }
            else
            {
                yield return new WorkItem(job, state, false, true, 0, job.ElementCount);
            }
        }
    }

    private static IEnumerable<(long Start, long Count)> Windows(long elements, int window)
    {
        if (elements == 0)
        {
            yield return (0, 0);
        }

        for (long start = 0; start < elements; start += window)
        {
            yield return (start, Math.Min(window, elements - start));
        }
    }
}
