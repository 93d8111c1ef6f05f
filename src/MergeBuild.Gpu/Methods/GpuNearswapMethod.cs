using MergeBuild.Gpu.Kernels;
using MergeBuild.Methods;
using MergeBuild.Planning;
using MergeBuild.Tensors;

namespace MergeBuild.Gpu.Methods;

/// <summary><c>nearswap</c> on the GPU (see <see cref="NearswapKernel"/>).</summary>
internal sealed class GpuNearswapMethod(IMergeMethod cpu, GpuEngine engine) : GpuMethod(cpu, engine)
{
    internal static readonly ElementwiseKernel<NearswapArgs> Kernel =
        new(NearswapKernel.Run<ClrOps>, NearswapKernel.Run<PtxOps>);

    public override void Merge(TensorJob job, MergeBuffers buffers, MergeChunk chunk)
    {
        var dtype = job.ComputeDType;
        var args = new NearswapArgs(DeviceRounding.ModeOf(dtype), (float)job.Parameter("t"),
            FloatCodec.Round(dtype, 1e-6f));
        Engine.Launch(Kernel, args, buffers, chunk.Count, models: 1, withBase: true, []);
    }
}
