using MergeBuild.Gpu.Kernels;
using MergeBuild.Methods;
using MergeBuild.Planning;
using MergeBuild.Tensors;

namespace MergeBuild.Gpu.Methods;

/// <summary><c>ram</c> on the GPU (see <see cref="RamKernel"/>).</summary>
internal sealed class GpuRamMethod(IMergeMethod cpu, GpuEngine engine) : GpuMethod(cpu, engine)
{
    internal static readonly ElementwiseKernel<RamArgs> Kernel = new(RamKernel.Run<ClrOps>, RamKernel.Run<PtxOps>);

    public override void Merge(TensorJob job, MergeBuffers buffers, MergeChunk chunk)
    {
        var dtype = job.ComputeDType;
        // As RamContributions: ε is compared in the compute dtype, so it is rounded to it first.
        var args = new RamArgs(job.Inputs.Count, DeviceRounding.ModeOf(dtype),
            FloatCodec.Round(dtype, (float)job.Parameter("epsilon")));
        Engine.Launch(Kernel, args, buffers, chunk.Count, job.Inputs.Count, withBase: true, []);
    }
}
