using MergeBuild.Execution;
using MergeBuild.Gpu.Methods;
using MergeBuild.Methods;
using MergeBuild.Methods.Geometric;
using MergeBuild.Methods.Misc;

namespace MergeBuild.Gpu;

/// <summary>
/// Runs the methods that have a GPU kernel on <see cref="Engine"/> and leaves every other method on the CPU.
/// Kernels exist for the element-wise methods <c>linear</c>, <c>task_arithmetic</c>, <c>passthrough</c> (with a
/// scale), <c>nearswap</c> and <c>ram</c>; each writes the same bytes as its CPU method.
/// </summary>
/// <param name="engine">The accelerator; the caller owns and disposes it.</param>
/// <param name="launchElements">
/// Elements per kernel launch (the executor's chunk and window size for GPU methods). A launch has a fixed cost
/// (two copies per input and a synchronization), so it should cover a whole window; tests pass small values to
/// show the output does not depend on it.
/// </param>
public sealed class GpuMethodProvider(GpuEngine engine, int launchElements = GpuMethodProvider.DefaultLaunchElements)
    : IMergeMethodProvider
{
    /// <summary>One window of 1M elements per launch: 4 MB per input buffer.</summary>
    public const int DefaultLaunchElements = 1 << 20;

    /// <summary>
    /// Worker threads for GPU methods. Launches are serialized on the one device; a few threads keep it fed while
    /// others decode and encode on the CPU, and more would only hold more launch-sized buffers.
    /// </summary>
    public const int MaxThreads = 4;

    /// <summary>The accelerator the kernels run on.</summary>
    public GpuEngine Engine => engine;

    /// <inheritdoc/>
    public IMergeMethod Resolve(IMergeMethod cpuMethod) => cpuMethod switch
    {
        LinearMethod => new GpuLinearMethod(cpuMethod, engine),
        TaskArithmeticMethod => new GpuTaskArithmeticMethod(cpuMethod, engine),
        PassthroughMethod => new GpuPassthroughMethod(cpuMethod, engine),
        NearswapMethod => new GpuNearswapMethod(cpuMethod, engine),
        RamMethod => new GpuRamMethod(cpuMethod, engine),
        _ => cpuMethod,
    };

    /// <inheritdoc/>
    public MergeOptions Configure(IMergeMethod method, MergeOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return method is GpuMethod
            ? options with
            {
                ChunkElements = launchElements,
                WindowElements = launchElements,
                Threads = Math.Clamp(options.Threads, 1, MaxThreads),
            }
            : options;
    }

    /// <summary>True when <paramref name="cpuMethod"/> has a GPU kernel here.</summary>
    public bool HasKernel(IMergeMethod cpuMethod) => Resolve(cpuMethod) is GpuMethod;
}
