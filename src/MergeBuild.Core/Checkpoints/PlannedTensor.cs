using MergeBuild.Tensors;

namespace MergeBuild.Checkpoints;

/// <summary>A tensor an output checkpoint will hold, known by name, type and shape before its data exists.</summary>
public sealed record PlannedTensor(string Name, DType DType, long[] Shape)
{
    /// <summary>Bytes the tensor occupies: element count times element size.</summary>
    public long ByteLength { get; } = checked(TensorShapes.ElementCount(Shape) * DTypes.SizeOf(DType));
}
