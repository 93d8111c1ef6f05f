using MergeBuild.Planning;

namespace MergeBuild.Methods;

/// <summary>An element-wise method seen as a streaming merge: no statistics, independent chunks.</summary>
internal sealed class ElementwiseMerge(IMergeMethod method, TensorJob job) : ITensorMerge
{
    public int StatisticsPasses => 0;

    public bool ChunksAreIndependent => true;

    public void Observe(int pass, MergeBuffers buffers, MergeChunk chunk) =>
        throw new InvalidOperationException("element-wise merges have no statistics pass");

    public void EndPass(int pass)
    {
    }

    public void Merge(MergeBuffers buffers, MergeChunk chunk) => method.Merge(job, buffers, chunk);
}
