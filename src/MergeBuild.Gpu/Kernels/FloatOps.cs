using ILGPU.Runtime.Cuda;

namespace MergeBuild.Gpu.Kernels;

/// <summary>
/// The four float32 operations the kernels use, chosen per backend by a struct type argument: every kernel is
/// generic over it, so the CUDA build of a kernel contains only explicitly rounded PTX instructions and no
/// branch on the accelerator type.
/// </summary>
internal interface IFloatOps
{
    float Add(float a, float b);

    float Sub(float a, float b);

    float Mul(float a, float b);

    float Div(float a, float b);
}

/// <summary>
/// Plain C# operators: what the ILGPU CPU accelerator (an emulator running the kernel's IL on the CLR) and the CPU
/// merge methods both execute, one IEEE operation and one rounding each.
/// </summary>
internal readonly struct ClrOps : IFloatOps
{
    public float Add(float a, float b) => a + b;

    public float Sub(float a, float b) => a - b;

    public float Mul(float a, float b) => a * b;

    public float Div(float a, float b) => a / b;
}

/// <summary>
/// Inline PTX with an explicit <c>.rn</c> rounding modifier. ILGPU 1.5.3 emits plain <c>mul.f32</c>/<c>add.f32</c>
/// for C# operators, and PTX lets ptxas fuse such a mul/add pair into one FMA (one rounding instead of two), which
/// would change results; instructions with an explicit rounding modifier are never fused. No <c>.ftz</c>:
/// subnormals are kept, as on the CPU.
/// </summary>
internal readonly struct PtxOps : IFloatOps
{
    public float Add(float a, float b)
    {
        CudaAsm.Emit("add.rn.f32 %0, %1, %2;", out float result, a, b);
        return result;
    }

    public float Sub(float a, float b)
    {
        CudaAsm.Emit("sub.rn.f32 %0, %1, %2;", out float result, a, b);
        return result;
    }

    public float Mul(float a, float b)
    {
        CudaAsm.Emit("mul.rn.f32 %0, %1, %2;", out float result, a, b);
        return result;
    }

    public float Div(float a, float b)
    {
        CudaAsm.Emit("div.rn.f32 %0, %1, %2;", out float result, a, b);
        return result;
    }
}
