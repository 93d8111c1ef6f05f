using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;
using MergeBuild.Gpu.Kernels;
using MergeBuild.Methods;

namespace MergeBuild.Gpu;

/// <summary>
/// One ILGPU accelerator shared by every worker thread of a merge: the compiled kernels (compiling one costs
/// 0.2–0.4 s, so each is loaded once per engine) and the device buffers a launch uses. Launches are serialized:
/// one GPU runs one chunk at a time, while the other worker threads decode and encode theirs on the CPU.
/// </summary>
public sealed class GpuEngine : IDisposable
{
    private readonly Context context;
    private readonly Accelerator accelerator;
    private readonly Lock gate = new();
    private readonly Dictionary<Delegate, Delegate> kernels = [];
    private MemoryBuffer1D<float, Stride1D.Dense>? inputs;
    private MemoryBuffer1D<float, Stride1D.Dense>? baseValues;
    private MemoryBuffer1D<float, Stride1D.Dense>? output;
    private MemoryBuffer1D<float, Stride1D.Dense>? weights;

    private GpuEngine(Context context, Accelerator accelerator)
    {
        this.context = context;
        this.accelerator = accelerator;
    }

    /// <summary>True on a CUDA GPU; false on ILGPU's CPU accelerator (an emulator, for tests).</summary>
    public bool IsCuda => accelerator.AcceleratorType == AcceleratorType.Cuda;

    /// <summary>The device's name as ILGPU reports it.</summary>
    public string DeviceName => accelerator.Name;

    /// <summary>The first CUDA device, or null when there is none (no GPU, or no CUDA driver).</summary>
    public static GpuEngine? TryCreateCuda()
    {
        // Math stays in its default (IEEE) mode: fast math would emit .ftz and approximate division.
        var context = Context.Create(builder => builder.Cuda());
        try
        {
            var devices = context.GetCudaDevices();
            if (devices.Count == 0)
            {
                context.Dispose();
                return null;
            }

            return new GpuEngine(context, devices[0].CreateAccelerator(context));
        }
        catch
        {
            context.Dispose();
            throw;
        }
    }

    /// <summary>
    /// ILGPU's CPU accelerator: runs the kernels' IL on the CLR, thread by thread. Slow (~3 µs per logical thread),
    /// for testing the kernels where no GPU exists; never a way to merge faster.
    /// </summary>
    public static GpuEngine CreateEmulator()
    {
        var context = Context.Create(builder => builder.CPU());
        try
        {
            return new GpuEngine(context, context.CreateCPUAccelerator(0));
        }
        catch
        {
            context.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Uploads the first <paramref name="count"/> values of <paramref name="models"/> inputs (and the base), runs
    /// <paramref name="kernel"/> over them and downloads the result into <see cref="MergeBuffers.Output"/>.
    /// </summary>
    internal void Launch<TArgs>(ElementwiseKernel<TArgs> kernel, TArgs args, MergeBuffers buffers, int count,
        int models, bool withBase, ReadOnlySpan<float> weightValues)
        where TArgs : struct
    {
        if (count == 0)
        {
            return;
        }

        lock (gate)
        {
            // CUDA contexts are current per thread; worker threads take turns here.
            using var binding = accelerator.BindScoped();
            var run = Load(kernel);
            var stream = accelerator.DefaultStream;
            Ensure(ref inputs, Math.Max(1L, (long)models * count));
            Ensure(ref baseValues, count);
            Ensure(ref output, count);
            Ensure(ref weights, Math.Max(1, weightValues.Length));
            for (var m = 0; m < models; m++)
            {
                inputs!.View.SubView((long)m * count, count).CopyFromCPU(stream, buffers.Inputs[m].AsSpan(0, count));
            }

            if (withBase)
            {
                baseValues!.View.SubView(0, count).CopyFromCPU(stream, buffers.Base.AsSpan(0, count));
            }

            if (weightValues.Length > 0)
            {
                weights!.View.SubView(0, weightValues.Length).CopyFromCPU(stream, weightValues);
            }

            var threads = Math.Min(count, accelerator.MaxNumThreads);
            run(threads, new LaunchShape(count, threads), args, inputs!.View, baseValues!.View, weights!.View,
                output!.View);
            accelerator.Synchronize();
            output!.View.SubView(0, count).CopyToCPU(stream, buffers.Output.AsSpan(0, count));
            stream.Synchronize();
        }
    }

    public void Dispose()
    {
        lock (gate)
        {
            inputs?.Dispose();
            baseValues?.Dispose();
            output?.Dispose();
            weights?.Dispose();
            accelerator.Dispose();
            context.Dispose();
        }
    }

    private Action<Index1D, LaunchShape, TArgs, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>>
        Load<TArgs>(ElementwiseKernel<TArgs> kernel)
        where TArgs : struct
    {
        var body = IsCuda ? kernel.Ptx : kernel.Clr;
        if (!kernels.TryGetValue(body, out var loaded))
        {
            loaded = accelerator.LoadAutoGroupedStreamKernel(body);
            kernels[body] = loaded;
        }

        return (Action<Index1D, LaunchShape, TArgs, ArrayView<float>, ArrayView<float>, ArrayView<float>,
            ArrayView<float>>)loaded;
    }

    private void Ensure(ref MemoryBuffer1D<float, Stride1D.Dense>? buffer, long length)
    {
        if (buffer is null || buffer.Length < length)
        {
            buffer?.Dispose();
            buffer = accelerator.Allocate1D<float>(length);
        }
    }
}
