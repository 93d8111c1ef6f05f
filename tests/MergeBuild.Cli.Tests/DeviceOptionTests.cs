using MergeBuild.Gpu;
using MergeBuild.Tests;

namespace MergeBuild.Cli.Tests;

/// <summary>
/// <c>merge --device</c>. This machine has no GPU, so <c>gpu</c> runs on ILGPU's CPU accelerator through the test
/// hook; the tests of one class run one after another, so setting the variable here affects no other test.
/// </summary>
public class DeviceOptionTests
{
    private const string Linear = """
        merge_method: linear
        models:
          - model: {models}/shipping
            parameters: {weight: 0.3}
          - model: {models}/refunds
            parameters: {weight: 0.7}
        """;

    [Fact]
    public void Gpu_on_the_emulator_says_where_each_method_runs_and_writes_the_same_files_as_the_cpu()
    {
        using var temp = new TempFolder();
        var recipe = RecipeFiles.Write(temp, Linear);
        var cpu = CliRunner.Run("merge", recipe, temp.Combine("cpu"));
        var gpu = WithEmulator(() => CliRunner.Run("merge", recipe, temp.Combine("gpu"), "--device", "gpu"));

        Assert.Equal(0, cpu.ExitCode);
        Assert.Equal(0, gpu.ExitCode);
        Assert.Contains("ILGPU CPU emulator", gpu.Output, StringComparison.Ordinal);
        Assert.Contains("linear: GPU", gpu.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("device:", cpu.Output, StringComparison.Ordinal);
        foreach (var file in Directory.GetFiles(temp.Combine("cpu")))
        {
            Assert.Equal(File.ReadAllBytes(file), File.ReadAllBytes(temp.Combine("gpu", Path.GetFileName(file))));
        }
    }

    [Fact]
    public void A_method_without_a_kernel_is_reported_as_running_on_the_cpu()
    {
        using var temp = new TempFolder();
        var recipe = RecipeFiles.Write(temp, """
            merge_method: slerp
            base_model: {models}/shipping
            models:
              - model: {models}/refunds
            parameters:
              t: 0.5
            """);
        var result = WithEmulator(() => CliRunner.Run("merge", recipe, temp.Combine("out"), "--device", "gpu"));

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("slerp: CPU (no GPU kernel yet)", result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void Gpu_without_a_cuda_device_fails_with_mb5001_and_auto_falls_back_to_the_cpu()
    {
        using (var cuda = GpuEngine.TryCreateCuda())
        {
            if (cuda is not null)
            {
                return; // With a GPU both would run on it.
            }
        }

        using var temp = new TempFolder();
        var recipe = RecipeFiles.Write(temp, Linear);
        var gpu = CliRunner.Run("merge", recipe, temp.Combine("gpu"), "--device", "gpu");
        var auto = CliRunner.Run("merge", recipe, temp.Combine("auto"), "--device", "auto");

        Assert.Equal(1, gpu.ExitCode);
        Assert.Contains("MB5001", gpu.Error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(temp.Combine("gpu")));
        Assert.Equal(0, auto.ExitCode);
        Assert.Contains("device: CPU (no CUDA device found)", auto.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unknown_device_fails_with_mb5001()
    {
        using var temp = new TempFolder();
        var result = CliRunner.Run("merge", RecipeFiles.Write(temp, Linear), temp.Combine("out"), "--device", "tpu");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("MB5001", result.Error, StringComparison.Ordinal);
    }

    private static CliRunner.Result WithEmulator(Func<CliRunner.Result> run)
    {
        var previous = Environment.GetEnvironmentVariable(DeviceSelection.EmulatorVariable);
        Environment.SetEnvironmentVariable(DeviceSelection.EmulatorVariable, "1");
        try
        {
            return run();
        }
        finally
        {
            Environment.SetEnvironmentVariable(DeviceSelection.EmulatorVariable, previous);
        }
    }
}
