using MergeBuild.Methods;
using MergeBuild.Planning;

namespace MergeBuild.Execution;

/// <summary>
/// A unit of scheduled work: a window of an output tensor whose chunks are independent (element-wise methods and byte
/// copies split a tensor into many), or a whole tensor whose passes must run in order (<see cref="IsSequential"/>).
/// <see cref="State"/> is the tensor's merge, begun once when the item is planned (null for byte copies).
/// </summary>
internal sealed record WorkItem(TensorJob Job, ITensorMerge? State, bool IsCopy, bool IsSequential, long Start, long Count);
