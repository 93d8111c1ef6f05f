using MergeBuild.Planning;
using MergeBuild.Tensors;

namespace MergeBuild.Methods;

/// <summary>
/// One merge method's arithmetic. The planner has already checked the recipe against the method's spec
/// (<see cref="Recipes.MergeMethodCatalog"/>) and evaluated every parameter for the tensor, so a method only
/// computes: it receives its inputs as float32 values already rounded to the job's compute dtype.
/// </summary>
public interface IMergeMethod
{
    /// <summary>The recipe's <c>merge_method</c> name.</summary>
    string Name { get; }

    /// <summary>
    /// True when output element i depends only on input elements i, so the executor may stream a tensor in chunks.
    /// Methods that need a per-tensor statistic (a top-k threshold, a norm) see the whole tensor at once.
    /// </summary>
    bool IsElementwise { get; }

    /// <summary>
    /// The compute dtype when the recipe sets no <c>dtype</c>: mergekit then computes in whatever dtype torch's
    /// rules give for the stored inputs, which differs per method.
    /// </summary>
    DType DefaultComputeDType(IReadOnlyList<DType> inputDTypes, DType? baseDType);

    /// <summary>
    /// The dtype written when the recipe sets no <c>out_dtype</c>: the compute dtype, except for methods whose torch
    /// code promotes the result (a float32 mask or factor times a bf16 tensor gives float32).
    /// </summary>
    DType DefaultOutputDType(DType computeDType) => computeDType;

    /// <summary>
    /// Starts computing one output tensor. The default runs <see cref="Merge"/> on streamed chunks for element-wise
    /// methods and on the whole tensor otherwise; methods that stream their statistics override it.
    /// </summary>
    ITensorMerge Begin(TensorJob job) =>
        IsElementwise ? new ElementwiseMerge(this, job) : new WholeTensorMerge(this, job);

    /// <summary>Computes the chunk's output elements from the first <see cref="MergeChunk.Count"/> values of each input buffer.</summary>
    void Merge(TensorJob job, MergeBuffers buffers, MergeChunk chunk);
}
