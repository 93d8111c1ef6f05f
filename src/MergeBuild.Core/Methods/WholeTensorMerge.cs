using MergeBuild.Planning;

namespace MergeBuild.Methods;

/// <summary>
/// Runs a method that needs its whole tensor at once: one pass gathers every input into tensor-sized buffers, the
/// method computes the whole output when the pass ends, and the output pass hands it out chunk by chunk.
/// Memory is (inputs + 2) × the tensor in float32, which the executor's memory budget accounts for.
/// </summary>
internal sealed class WholeTensorMerge : ITensorMerge
{
    private readonly IMergeMethod method;
    private readonly TensorJob job;
    private readonly int count;
    private MergeBuffers? whole;

    public WholeTensorMerge(IMergeMethod method, TensorJob job)
    {
        this.method = method;
        this.job = job;
        if (job.ElementCount > Array.MaxLength)
        {
            throw new Diagnostics.MergeBuildException(Diagnostics.ErrorCodes.UnsupportedDType,
                $"'{job.OutputName}' has {job.ElementCount} elements; {method.Name} needs the whole tensor in memory and " +
                "this version handles at most 2^31 elements per tensor for it.");
        }

        count = (int)job.ElementCount;
    }

    public int StatisticsPasses => 1;

    public bool ChunksAreIndependent => true;

    public bool OutputPassReadsInputs => false;

    public long StateBytes => (job.Inputs.Count + (job.Base is null ? 0 : 1) + 2) * 4L * count;

    public void Observe(int pass, MergeBuffers buffers, MergeChunk chunk)
    {
        whole ??= new MergeBuffers(job.Inputs.Count, job.Base is not null, count);
        for (var i = 0; i < job.Inputs.Count; i++)
        {
            buffers.Inputs[i].AsSpan(0, chunk.Count).CopyTo(whole.Inputs[i].AsSpan((int)chunk.Start));
        }

        buffers.Base?.AsSpan(0, chunk.Count).CopyTo(whole.Base.AsSpan((int)chunk.Start));
        Seed = chunk.Seed;
    }

    public void EndPass(int pass)
    {
        whole ??= new MergeBuffers(job.Inputs.Count, job.Base is not null, count);
        method.Merge(job, whole, new MergeChunk(0, count, Seed));
        // The inputs are no longer needed; keep only the output until it has been handed out.
        for (var i = 0; i < whole.Inputs.Length; i++)
        {
            whole.Inputs[i] = [];
        }
    }

    public void Merge(MergeBuffers buffers, MergeChunk chunk) =>
        whole!.Output.AsSpan((int)chunk.Start, chunk.Count).CopyTo(buffers.Output);

    private ulong Seed { get; set; }
}
