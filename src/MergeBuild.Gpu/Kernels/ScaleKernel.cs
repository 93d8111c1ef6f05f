using ILGPU;

namespace MergeBuild.Gpu.Kernels;

/// <summary>Scalars of a <c>passthrough</c> launch with a scale.</summary>
internal readonly struct ScaleArgs(int rounding, float factor)
{
    public readonly int Rounding = rounding;

    public readonly float Factor = factor;
}

/// <summary>
/// <c>passthrough</c> with <c>scale</c>, as <see cref="Methods.PassthroughMethod"/>: out = round(x·scale), the scale
/// a float32 that is not rounded to the compute dtype first.
/// </summary>
internal static class ScaleKernel
{
    public static void Run<TOps>(Index1D thread, LaunchShape shape, ScaleArgs args, ArrayView<float> inputs,
        ArrayView<float> baseValues, ArrayView<float> weights, ArrayView<float> output)
        where TOps : struct, IFloatOps
    {
        for (int i = thread; i < shape.Count; i += shape.Threads)
        {
            output[i] = DeviceRounding.Round(args.Rounding, Ieee.Mul<TOps>(inputs[i], args.Factor));
        }
    }
}
