using MergeBuild.Diagnostics;

namespace MergeBuild.Gpu;

/// <summary>Where merges run: the <c>--device</c> option's values.</summary>
public enum MergeDevice
{
    /// <summary>The CPU engine only (the default).</summary>
    Cpu,

    /// <summary>A CUDA GPU; an error when none is present.</summary>
    Gpu,

    /// <summary>A CUDA GPU when one is present, else the CPU.</summary>
    Auto,
}

/// <summary>Turns a <see cref="MergeDevice"/> into a GPU engine, or none for the CPU.</summary>
public static class DeviceSelection
{
    /// <summary>
    /// Test hook: with this environment variable set to <c>1</c>, <see cref="MergeDevice.Gpu"/> falls back to ILGPU's
    /// CPU accelerator (a slow emulator) instead of failing when no CUDA device exists, so the GPU path can be
    /// exercised end to end on machines without a GPU.
    /// </summary>
    public const string EmulatorVariable = "MERGEBUILD_GPU_EMULATOR";

    /// <summary>Parses <c>cpu</c>, <c>gpu</c> or <c>auto</c>.</summary>
    public static MergeDevice Parse(string value) => value.ToLowerInvariant() switch
    {
        "cpu" => MergeDevice.Cpu,
        "gpu" or "cuda" => MergeDevice.Gpu,
        "auto" => MergeDevice.Auto,
        _ => throw new MergeBuildException(ErrorCodes.InvalidOption,
            $"--device must be cpu, gpu or auto, not '{value}'."),
    };

    /// <summary>
    /// The engine for <paramref name="device"/>: null for the CPU (or <see cref="MergeDevice.Auto"/> without a
    /// GPU). The caller disposes it.
    /// </summary>
    public static GpuEngine? Open(MergeDevice device)
    {
        if (device == MergeDevice.Cpu)
        {
            return null;
        }

        var cuda = TryOpenCuda();
        if (cuda is not null || device == MergeDevice.Auto)
        {
            return cuda;
        }

        if (Environment.GetEnvironmentVariable(EmulatorVariable) == "1")
        {
            return GpuEngine.CreateEmulator();
        }

        throw new MergeBuildException(ErrorCodes.InvalidOption,
            "--device gpu needs a CUDA GPU, and none was found (no NVIDIA device or no CUDA driver).",
            hint: "Use --device cpu (the default) or --device auto, which falls back to the CPU.");
    }

    private static GpuEngine? TryOpenCuda()
    {
        try
        {
            return GpuEngine.TryCreateCuda();
        }
        catch (Exception e) when (e is DllNotFoundException or TypeInitializationException or InvalidOperationException
                                      or NotSupportedException or ILGPU.Runtime.Cuda.CudaException)
        {
            // A broken or missing driver counts as "no CUDA device"; --device gpu then reports it.
            return null;
        }
    }
}
