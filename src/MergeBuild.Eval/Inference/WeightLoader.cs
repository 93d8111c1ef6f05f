using MergeBuild.Checkpoints;
using MergeBuild.Diagnostics;
using MergeBuild.Tensors;

namespace MergeBuild.Eval.Inference;

/// <summary>
/// Reads a model's tensors into float32 arrays (bf16, f16 and f32 are widened exactly), checking each shape
/// against the one the config implies.
/// </summary>
internal sealed class WeightLoader(CheckpointReader reader)
{
    // Convert in slices so a multi-gigabyte tensor never needs a span longer than int.MaxValue bytes.
    private const int SliceElements = 1 << 24;

    public bool Has(string name) => reader.Contains(name);

    /// <summary>The tensor as float32, which must have exactly <paramref name="shape"/> (MB3003 otherwise).</summary>
    public float[] Read(string name, params long[] shape)
    {
        var tensor = reader.Get(name);
        if (!tensor.Shape.SequenceEqual(shape))
        {
            throw new MergeBuildException(ErrorCodes.ShapeMismatch,
                $"tensor '{name}' has shape {tensor.ShapeText}, but config.json implies [{string.Join(", ", shape)}].",
                new SourceLocation(reader.Files.FileOf(name)),
                "The weights do not belong to this config; check the model folder.");
        }

        if (tensor.DType is not (DType.BF16 or DType.F16 or DType.F32))
        {
            throw new MergeBuildException(ErrorCodes.UnsupportedDType,
                $"tensor '{name}' is {DTypes.ToSafetensorsName(tensor.DType)}; the evaluator reads BF16, F16 and F32.",
                new SourceLocation(reader.Files.FileOf(name)), "Convert the model to bfloat16 or float32.");
        }

        var result = new float[tensor.ElementCount];
        var elementSize = DTypes.SizeOf(tensor.DType);
        for (long start = 0; start < result.Length; start += SliceElements)
        {
            var count = (int)Math.Min(SliceElements, result.Length - start);
            var bytes = reader.GetBytes(name, start * elementSize, count * elementSize);
            FloatCodec.ToSingle(tensor.DType, bytes, result.AsSpan((int)start, count));
        }

        return result;
    }

    /// <summary>The tensor when the checkpoint has it (optional biases), else null.</summary>
    public float[]? ReadOptional(string name, params long[] shape) => Has(name) ? Read(name, shape) : null;
}
