using ILGPU;

namespace MergeBuild.Gpu.Kernels;

/// <summary>Scalars of a <c>linear</c> launch (weights, already rounded to the compute dtype, go in a buffer).</summary>
internal readonly struct LinearArgs(int models, int rounding, int normalize, float divisor)
{
    public readonly int Models = models;

    public readonly int Rounding = rounding;

    /// <summary>1 to divide by <see cref="Divisor"/> (the rounded weight sum).</summary>
    public readonly int Normalize = normalize;

    public readonly float Divisor = divisor;
}

/// <summary>
/// <c>linear</c>, the operation sequence of <see cref="Methods.LinearMethod"/>: acc = +0; acc += round(xᵢ·wᵢ) in
/// recipe order; round(acc); with normalize round(acc / round(Σw)).
/// </summary>
internal static class LinearKernel
{
    public static void Run<TOps>(Index1D thread, LaunchShape shape, LinearArgs args, ArrayView<float> inputs,
        ArrayView<float> baseValues, ArrayView<float> weights, ArrayView<float> output)
        where TOps : struct, IFloatOps
    {
        for (int i = thread; i < shape.Count; i += shape.Threads)
        {
            var sum = 0f;
            for (var m = 0; m < args.Models; m++)
            {
                var product = Ieee.Mul<TOps>(inputs[(long)m * shape.Count + i], weights[m]);
                sum = Ieee.Add<TOps>(sum, DeviceRounding.Round(args.Rounding, product));
            }

            sum = DeviceRounding.Round(args.Rounding, sum);
            if (args.Normalize != 0)
            {
                sum = DeviceRounding.Round(args.Rounding, Ieee.Div<TOps>(sum, args.Divisor));
            }

            output[i] = sum;
        }
    }
}
