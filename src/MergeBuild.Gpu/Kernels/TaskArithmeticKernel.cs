using ILGPU;

namespace MergeBuild.Gpu.Kernels;

/// <summary>Scalars of a <c>task_arithmetic</c> launch (weights, rounded to the compute dtype, go in a buffer).</summary>
internal readonly struct TaskArithmeticArgs(int models, int rounding, int normalize, float divisor, int applyLambda,
    float lambda)
{
    public readonly int Models = models;

    public readonly int Rounding = rounding;

    public readonly int Normalize = normalize;

    /// <summary>The rounded weight sum, or 1 where it is below 1e-8 in magnitude.</summary>
    public readonly float Divisor = divisor;

    /// <summary>0 when lambda is exactly 1 (the CPU path then skips the multiplication and its rounding).</summary>
    public readonly int ApplyLambda = applyLambda;

    public readonly float Lambda = lambda;
}

/// <summary>
/// Element-wise <c>task_arithmetic</c>, the operation sequence of the CPU path (GeneralizedTaskArithmeticMethod
/// without sparsification, then TaskVectorMixer without consensus): dᵢ = round(xᵢ − b); vᵢ = round(dᵢ·wᵢ);
/// s = v₀ + v₁ + … in float32 (starting from v₀, not from +0); round(s); optionally round(s / divisor) and
/// round(s·λ); out = round(b + s).
/// </summary>
internal static class TaskArithmeticKernel
{
    public static void Run<TOps>(Index1D thread, LaunchShape shape, TaskArithmeticArgs args, ArrayView<float> inputs,
        ArrayView<float> baseValues, ArrayView<float> weights, ArrayView<float> output)
        where TOps : struct, IFloatOps
    {
        for (int i = thread; i < shape.Count; i += shape.Threads)
        {
            var b = baseValues[i];
            var sum = 0f;
            for (var m = 0; m < args.Models; m++)
            {
                var delta = DeviceRounding.Round(args.Rounding, Ieee.Sub<TOps>(inputs[(long)m * shape.Count + i], b));
                var weighted = DeviceRounding.Round(args.Rounding, Ieee.Mul<TOps>(delta, weights[m]));
                sum = m == 0 ? weighted : Ieee.Add<TOps>(sum, weighted);
            }

            var mixed = DeviceRounding.Round(args.Rounding, sum);
            if (args.Normalize != 0)
            {
                mixed = DeviceRounding.Round(args.Rounding, Ieee.Div<TOps>(mixed, args.Divisor));
            }

            if (args.ApplyLambda != 0)
            {
                mixed = DeviceRounding.Round(args.Rounding, Ieee.Mul<TOps>(mixed, args.Lambda));
            }

            output[i] = DeviceRounding.Round(args.Rounding, Ieee.Add<TOps>(b, mixed));
        }
    }
}
