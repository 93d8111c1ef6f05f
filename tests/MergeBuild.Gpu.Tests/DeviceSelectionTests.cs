using MergeBuild.Diagnostics;

namespace MergeBuild.Gpu.Tests;

public class DeviceSelectionTests
{
    [Theory]
    [InlineData("cpu", MergeDevice.Cpu)]
    [InlineData("GPU", MergeDevice.Gpu)]
    [InlineData("cuda", MergeDevice.Gpu)]
    [InlineData("auto", MergeDevice.Auto)]
    public void Device_names_parse(string text, MergeDevice device) =>
        Assert.Equal(device, DeviceSelection.Parse(text));

    [Fact]
    public void An_unknown_device_is_an_option_error()
    {
        var error = Assert.Throws<MergeBuildException>(() => DeviceSelection.Parse("tpu"));
        Assert.Equal(ErrorCodes.InvalidOption, error.Code);
    }

    [Fact]
    public void The_cpu_needs_no_engine() => Assert.Null(DeviceSelection.Open(MergeDevice.Cpu));

    [Fact]
    public void Gpu_without_a_cuda_device_is_an_option_error_and_auto_falls_back_to_the_cpu()
    {
        using (var cuda = GpuEngine.TryCreateCuda())
        {
            if (cuda is not null || Environment.GetEnvironmentVariable(DeviceSelection.EmulatorVariable) == "1")
            {
                return; // A machine with a GPU (or the emulator hook) has nothing to report here.
            }
        }

        var error = Assert.Throws<MergeBuildException>(() => DeviceSelection.Open(MergeDevice.Gpu));
        Assert.Equal(ErrorCodes.InvalidOption, error.Code);
        Assert.Contains("CUDA", error.Message, StringComparison.Ordinal);
        Assert.Null(DeviceSelection.Open(MergeDevice.Auto));
    }
}
