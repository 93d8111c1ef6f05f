using ILGPU;
using MergeBuild.Gpu.Kernels;

namespace MergeBuild.Gpu;

/// <summary>
/// One element-wise kernel in its two builds: <see cref="Clr"/> (C# operators) for the ILGPU CPU accelerator and
/// <see cref="Ptx"/> (explicitly rounded inline PTX) for CUDA. Both share the kernel's generic body.
/// </summary>
/// <typeparam name="TArgs">The launch's scalars.</typeparam>
internal sealed record ElementwiseKernel<TArgs>(
    Action<Index1D, LaunchShape, TArgs, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>> Clr,
    Action<Index1D, LaunchShape, TArgs, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>> Ptx)
    where TArgs : struct;
