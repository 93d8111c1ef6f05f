using System.Diagnostics;
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

        var stopwatch = Stopwatch.StartNew();
        var layout = CheckpointLayout.Plan(
            plan.Jobs.Select(j => new PlannedTensor(j.OutputName, j.OutputDType, j.Shape)).ToList(),
            options.MaxShardBytes,
            new Dictionary<string, string> { ["format"] = "pt" });

        using var output = AtomicOutputFolder.Begin(outputFolder);
        var readers = new Dictionary<PlannedModel, CheckpointReader>();
        try
        {
            foreach (var model in plan.Models)
            {
                readers[model] = CheckpointReader.Open(model.Path);
            }

            using (var writer = CheckpointWriter.Create(output.StagingPath, layout))
            {
                var tracker = new ProgressTracker(plan, progress);
                var items = WorkItems(plan, method, options.ChunkElements);
                Parallel.ForEach(
                    items,
                    new ParallelOptions
                    {
                        MaxDegreeOfParallelism = Math.Max(1, options.Threads),
                        CancellationToken = cancellationToken,
                    },
                    () => new WorkerBuffers(),
                    (item, _, buffers) =>
                    {
                        Run(item, method, readers, writer, buffers, options.RandomSeed);
                        tracker.ChunkDone(item);
                        return buffers;
                    },
                    _ => { });
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
                File.WriteAllText(card, ModelCard.Render(plan, options));
                var recipeCopy = output.PathOf(ModelCard.RecipeFileName);
                File.WriteAllText(recipeCopy, plan.RecipeSet.Text);
                files.Add(card);
                files.Add(recipeCopy);
            }

            // Re-read what was written before it replaces anything: a header that does not parse must never land.
            foreach (var shard in layout.Shards)
            {
                SafetensorsHeader.Read(output.PathOf(shard.FileName));
            }

            output.Commit($"{{\"engine\": \"MergeBuild {EngineInfo.Version}\"}}\n");
            var finalFiles = files.Select(f => Path.Combine(output.Destination, Path.GetFileName(f))).ToList();
            return new MergeResult(output.Destination, finalFiles, plan.Models.Count, plan.Jobs.Count, layout.TotalSize,
                stopwatch.Elapsed);
        }
        catch (IOException e)
        {
            throw new MergeBuildException(ErrorCodes.OutputIo, $"writing the merged model failed: {e.Message}",
                new SourceLocation(outputFolder), "Check free disk space and permissions; nothing was replaced.", e);
        }
        finally
        {
            foreach (var reader in readers.Values)
            {
                reader.Dispose();
            }
        }
    }

    /// <summary>Splits every job into chunks: element-wise methods stream; the others see whole tensors.</summary>
    private static List<WorkItem> WorkItems(MergePlan plan, IMergeMethod method, int chunkElements)
    {
        var items = new List<WorkItem>();
        foreach (var job in plan.Jobs)
        {
            var count = job.ElementCount;
            var chunk = method.IsElementwise || IsCopy(method, job) ? chunkElements : count;
            if (chunk > Array.MaxLength)
            {
                throw new MergeBuildException(ErrorCodes.UnsupportedDType,
                    $"'{job.OutputName}' has {count} elements; {method.Name} needs whole tensors in memory and this " +
                    "version handles at most 2^31 elements per tensor.", plan.Recipe.MergeMethodLocation);
            }

            var chunks = Math.Max(1, (count + chunk - 1) / chunk);
            for (long start = 0, index = 0; index < chunks; index++, start += chunk)
            {
                items.Add(new WorkItem(job, start, (int)Math.Min(chunk, count - start), (int)chunks));
            }
        }

        return items;
    }

    private static bool IsCopy(IMergeMethod method, TensorJob job) =>
        method is PassthroughMethod && PassthroughMethod.IsByteCopy(job);

    private static void Run(WorkItem item, IMergeMethod method, Dictionary<PlannedModel, CheckpointReader> readers,
        CheckpointWriter writer, WorkerBuffers worker, ulong seed)
    {
        var job = item.Job;
        if (IsCopy(method, job))
        {
            var input = job.Inputs[0];
            var size = DTypes.SizeOf(input.Tensor.DType);
            writer.Write(job.OutputName, item.Start * size,
                readers[input.Model].GetBytes(input.Tensor.Name, item.Start * size, item.Count * size));
            return;
        }

        var buffers = worker.For(job, item.Count);
        for (var i = 0; i < job.Inputs.Count; i++)
        {
            Load(job.Inputs[i], job.ComputeDType, readers, item, buffers.Inputs[i]);
        }

        if (job.Base is { } baseInput)
        {
            Load(baseInput, job.ComputeDType, readers, item, buffers.Base!);
        }

        method.Merge(job, buffers, new MergeChunk(item.Start, item.Count, seed));

        var outputSize = DTypes.SizeOf(job.OutputDType);
        var bytes = worker.OutputBytes(item.Count * outputSize);
        FloatCodec.FromSingle(job.OutputDType, buffers.Output.AsSpan(0, item.Count), bytes);
        writer.Write(job.OutputName, item.Start * outputSize, bytes);
    }

    /// <summary>Decodes one input chunk to float32 and rounds it to the compute dtype (mergekit casts on load).</summary>
    private static void Load(JobInput input, DType computeDType, Dictionary<PlannedModel, CheckpointReader> readers,
        WorkItem item, float[] destination)
    {
        var tensor = input.Tensor;
        var size = DTypes.SizeOf(tensor.DType);
        var bytes = readers[input.Model].GetBytes(tensor.Name, item.Start * size, item.Count * size);
        var values = destination.AsSpan(0, item.Count);
        FloatCodec.ToSingle(tensor.DType, bytes, values);
        if (tensor.DType != computeDType)
        {
            FloatCodec.RoundTo(computeDType, values);
        }
    }

    private sealed record WorkItem(TensorJob Job, long Start, int Count, int ChunksInJob);

    /// <summary>One worker thread's reusable buffers, grown on demand.</summary>
    private sealed class WorkerBuffers
    {
        private MergeBuffers? buffers;
        private byte[] outputBytes = [];

        public MergeBuffers For(TensorJob job, int count)
        {
            var hasBase = job.Base is not null;
            if (buffers is null || buffers.Capacity < count || buffers.Inputs.Length != job.Inputs.Count ||
                (buffers.Base is not null) != hasBase)
            {
                buffers = new MergeBuffers(job.Inputs.Count, hasBase, Math.Max(count, buffers?.Capacity ?? 0));
            }

            return buffers;
        }

        public Span<byte> OutputBytes(int length)
        {
            if (outputBytes.Length < length)
            {
                outputBytes = new byte[length];
            }

            return outputBytes.AsSpan(0, length);
        }
    }

    /// <summary>Counts finished chunks and reports whole tensors as they complete.</summary>
    private sealed class ProgressTracker(MergePlan plan, IProgress<MergeProgress>? progress)
    {
        private readonly Dictionary<TensorJob, int> remaining = plan.Jobs.ToDictionary(j => j, _ => 0);
        private readonly long totalBytes = plan.OutputBytes;
        private readonly object gate = new();
        private int tensorsDone;
        private long bytesDone;

        public void ChunkDone(WorkItem item)
        {
            if (progress is null)
            {
                return;
            }

            lock (gate)
            {
                bytesDone += (long)item.Count * DTypes.SizeOf(item.Job.OutputDType);
                var done = ++remaining[item.Job];
                if (done == item.ChunksInJob)
                {
                    tensorsDone++;
                    progress.Report(new MergeProgress(tensorsDone, plan.Jobs.Count, bytesDone, totalBytes,
                        item.Job.OutputName));
                }
            }
        }
    }
}
