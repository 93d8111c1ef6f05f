using MergeBuild.Methods;
using MergeBuild.Planning;

namespace MergeBuild.Execution;

/// <summary>
/// A unit of scheduled work: a window of an output tensor whose chunks are independent (element-wise methods and byte
/// copies split a tensor into many), or a whole tensor whose passes must run in order (<see cref="State"/> null: the
/// worker begins it).
/// </summary>
internal sealed record WorkItem(TensorJob Job, ITensorMerge? State, bool IsCopy, long Start, long Count)
{
    /// <summary>A whole tensor processed pass by pass, chunk by chunk, in order.</summary>
    public bool IsSequential => State is null && !IsCopy;
}
