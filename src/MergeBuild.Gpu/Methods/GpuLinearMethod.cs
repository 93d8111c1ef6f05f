using MergeBuild.Gpu.Kernels;
using MergeBuild.Methods;
using MergeBuild.Planning;
using MergeBuild.Tensors;

namespace MergeBuild.Gpu.Methods;

/// <summary><c>linear</c> on the GPU (see <see cref="LinearKernel"/>).</summary>
internal sealed class GpuLinearMethod(IMergeMethod cpu, GpuEngine engine) : GpuMethod(cpu, engine)
{
    internal static readonly ElementwiseKernel<LinearArgs> Kernel = new(LinearKernel.Run<ClrOps>, LinearKernel.Run<PtxOps>);

    public override void Merge(TensorJob job, MergeBuffers buffers, MergeChunk chunk)
    {
        var dtype = job.ComputeDType;
        var models = job.Inputs.Count;
        var weights = new float[models];
        var weightSum = 0f;
        for (var i = 0; i < models; i++)
        {
            // As LinearMethod: weights rounded to the compute dtype, their float32 sum in recipe order.
            weights[i] = FloatCodec.Round(dtype, (float)job.Inputs[i].Parameter("weight"));
            weightSum += weights[i];
        }

        var args = new LinearArgs(models, DeviceRounding.ModeOf(dtype), job.Parameter("normalize") != 0 ? 1 : 0,
            FloatCodec.Round(dtype, weightSum));
        Engine.Launch(Kernel, args, buffers, chunk.Count, models, withBase: false, weights);
    }
}
