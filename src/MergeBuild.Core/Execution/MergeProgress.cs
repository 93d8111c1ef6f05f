namespace MergeBuild.Execution;

/// <summary>A snapshot of a running merge, reported as tensors complete.</summary>
public sealed record MergeProgress(int TensorsDone, int TensorCount, long BytesDone, long BytesTotal, string? LastTensor)
{
    public double Fraction => BytesTotal == 0 ? 1 : (double)BytesDone / BytesTotal;
}
