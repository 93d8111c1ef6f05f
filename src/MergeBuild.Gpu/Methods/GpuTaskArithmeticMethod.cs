using MergeBuild.Gpu.Kernels;
using MergeBuild.Methods;
using MergeBuild.Planning;
using MergeBuild.Tensors;

namespace MergeBuild.Gpu.Methods;

/// <summary><c>task_arithmetic</c> on the GPU (see <see cref="TaskArithmeticKernel"/>).</summary>
internal sealed class GpuTaskArithmeticMethod(IMergeMethod cpu, GpuEngine engine) : GpuMethod(cpu, engine)
{
    internal static readonly ElementwiseKernel<TaskArithmeticArgs> Kernel =
        new(TaskArithmeticKernel.Run<ClrOps>, TaskArithmeticKernel.Run<PtxOps>);

    public override void Merge(TensorJob job, MergeBuffers buffers, MergeChunk chunk)
    {
        var count = chunk.Count;
        var dtype = job.ComputeDType;
        var models = job.Inputs.Count;
        var baseValues = buffers.Base ?? throw new InvalidOperationException($"{Name} needs the base model's tensor.");
        if (models == 0)
        {
            baseValues.AsSpan(0, count).CopyTo(buffers.Output);
            return;
        }

        // The host-side scalars exactly as GeneralizedTaskArithmeticMethod and TaskVectorMixer form them.
        var weights = new float[models];
        var weightSum = 0f;
        for (var m = 0; m < models; m++)
        {
            weights[m] = FloatCodec.Round(dtype, (float)PerModel(job, m, "weight"));
            weightSum += weights[m];
        }

        weightSum = FloatCodec.Round(dtype, weightSum);
        var divisor = Math.Abs(weightSum) < FloatCodec.Round(dtype, 1e-8f) ? 1f : weightSum;
        var lambda = Global(job, "lambda");
        var args = new TaskArithmeticArgs(models, DeviceRounding.ModeOf(dtype), Global(job, "normalize") != 0 ? 1 : 0,
            divisor, lambda != 1.0 ? 1 : 0, (float)lambda);
        Engine.Launch(Kernel, args, buffers, count, models, withBase: true, weights);
    }
}
