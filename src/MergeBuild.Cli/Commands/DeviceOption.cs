using System.CommandLine;
using MergeBuild.Gpu;
using MergeBuild.Methods;
using MergeBuild.Recipes;

namespace MergeBuild.Cli.Commands;

/// <summary><c>merge --device cpu|gpu|auto</c>: where the methods with a GPU kernel run.</summary>
internal static class DeviceOption
{
    public static Option<string> Create() => new("--device")
    {
        Description = "Where methods with a GPU kernel run: cpu (default), gpu (a CUDA GPU; an error without one) " +
                      "or auto (CUDA when present, else the CPU). The output is identical on every device.",
        DefaultValueFactory = _ => "cpu",
    };

    /// <summary>
    /// Opens the device (null: the CPU) and, unless quiet, says where each of the recipe's methods will run.
    /// </summary>
    public static GpuEngine? Open(string value, RecipeSet recipes, TextWriter output, bool quiet)
    {
        var device = DeviceSelection.Parse(value);
        var engine = DeviceSelection.Open(device);
        if (quiet || device == MergeDevice.Cpu)
        {
            return engine;
        }

        if (engine is null)
        {
            output.WriteLine("device: CPU (no CUDA device found)");
            return null;
        }

        output.WriteLine($"device: {engine.DeviceName} ({(engine.IsCuda ? "CUDA" : "ILGPU CPU emulator, for tests")})");
        var provider = new GpuMethodProvider(engine);
        foreach (var name in recipes.Documents.Select(d => d.MergeMethod).Distinct(StringComparer.Ordinal))
        {
            var onGpu = MergeMethods.TryGet(name, out var method) && provider.HasKernel(method);
            output.WriteLine(onGpu ? $"{name}: GPU" : $"{name}: CPU (no GPU kernel yet)");
        }

        return engine;
    }
}
