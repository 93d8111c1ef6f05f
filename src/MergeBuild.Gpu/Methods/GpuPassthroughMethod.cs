using MergeBuild.Gpu.Kernels;
using MergeBuild.Methods;
using MergeBuild.Planning;
using MergeBuild.Tensors;

namespace MergeBuild.Gpu.Methods;

/// <summary>
/// <c>passthrough</c> with a <c>scale</c> on the GPU (see <see cref="ScaleKernel"/>). Without a scale the values
/// are copied on the CPU (a round trip to the device would only add work); byte copies never reach a method at all.
/// </summary>
internal sealed class GpuPassthroughMethod(IMergeMethod cpu, GpuEngine engine) : GpuMethod(cpu, engine)
{
    internal static readonly ElementwiseKernel<ScaleArgs> Kernel = new(ScaleKernel.Run<ClrOps>, ScaleKernel.Run<PtxOps>);

    public override void Merge(TensorJob job, MergeBuffers buffers, MergeChunk chunk)
    {
        if (job.Inputs[0].OptionalParameter("scale") is not { } scale)
        {
            buffers.Inputs[0].AsSpan(0, chunk.Count).CopyTo(buffers.Output);
            return;
        }

        var args = new ScaleArgs(DeviceRounding.ModeOf(job.ComputeDType), (float)scale);
        Engine.Launch(Kernel, args, buffers, chunk.Count, models: 1, withBase: false, []);
    }
}
