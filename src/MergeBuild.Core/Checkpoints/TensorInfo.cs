using MergeBuild.Tensors;

namespace MergeBuild.Checkpoints;

/// <summary>
/// One tensor entry of a safetensors header: its name, element type, shape and where its bytes are.
/// <see cref="DataOffset"/> is relative to the start of the data section (the header's <c>data_offsets[0]</c>),
/// not to the start of the file.
/// </summary>
public sealed record TensorInfo(string Name, DType DType, long[] Shape, long DataOffset, long ByteLength)
{
    /// <summary>The number of elements: the product of <see cref="Shape"/>, 1 for a scalar (empty shape).</summary>
    public long ElementCount { get; } = TensorShapes.ElementCount(Shape);

    /// <summary>The shape as torch prints it, e.g. <c>[83, 128]</c>.</summary>
    public string ShapeText => TensorShapes.Format(Shape);
}
