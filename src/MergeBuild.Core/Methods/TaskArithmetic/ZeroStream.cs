namespace MergeBuild.Methods;

/// <summary>DELLA with density ≤ 0: the task vector becomes +0 everywhere (mergekit's early return of zeros).</summary>
internal sealed class ZeroStream : IStreamSparsifier
{
    public int Passes => 0;

    public bool ChunksAreIndependent => true;

    public long StateBytes => 0;

    public void Observe(int pass, Span<float> delta, MergeChunk chunk, float[] scratch) =>
        throw new InvalidOperationException("a zeroed task vector has no statistics pass");

    public void EndPass(int pass)
    {
    }

    public void Apply(Span<float> delta, MergeChunk chunk, float[] scratch) => delta.Clear();
}
