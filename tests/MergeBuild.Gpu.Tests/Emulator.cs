namespace MergeBuild.Gpu.Tests;

/// <summary>
/// The engines the tests run the kernels on: ILGPU's CPU accelerator always, and a CUDA GPU too where one exists,
/// so the same tests check real hardware on a GPU machine. Each is created once per test run (kernels compile once
/// per engine, 0.2–0.4 s each); an engine serializes launches itself, so test classes may share it in parallel.
/// </summary>
internal static class Emulator
{
    private static readonly Lazy<GpuEngine> Instance = new(GpuEngine.CreateEmulator);

    private static readonly Lazy<GpuEngine?> CudaInstance = new(GpuEngine.TryCreateCuda);

    public static GpuEngine Engine => Instance.Value;

    /// <summary>The emulator, then the CUDA device if there is one.</summary>
    public static IEnumerable<GpuEngine> Engines =>
        CudaInstance.Value is { } cuda ? [Instance.Value, cuda] : [Instance.Value];

    public static GpuMethodProvider Provider(int launchElements = GpuMethodProvider.DefaultLaunchElements) =>
        new(Engine, launchElements);
}
