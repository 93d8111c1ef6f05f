using MergeBuild.Diagnostics;
using MergeBuild.Execution;

namespace MergeBuild.Core.Tests.Execution;

public class MemorySizeTests
{
    [Theory]
    [InlineData("1073741824", 1073741824L)]
    [InlineData("512M", 512L * 1024 * 1024)]
    [InlineData("512mb", 512L * 1024 * 1024)]
    [InlineData("2G", 2L * 1024 * 1024 * 1024)]
    [InlineData("2GiB", 2L * 1024 * 1024 * 1024)]
    [InlineData("64k", 64L * 1024)]
    [InlineData("1T", 1L << 40)]
    [InlineData("100B", 100L)]
    public void Accepts_bytes_with_binary_unit_suffixes(string text, long expected) =>
        Assert.Equal(expected, MemorySize.Parse(text, "--memory-budget"));

    [Theory]
    [InlineData("")]
    [InlineData("G")]
    [InlineData("1.5G")]
    [InlineData("-1G")]
    [InlineData("0")]
    [InlineData("lots")]
    [InlineData("9999999999T")]
    public void Rejects_what_is_not_a_positive_whole_amount(string text)
    {
        var error = Assert.Throws<MergeBuildException>(() => MemorySize.Parse(text, "--memory-budget"));
        Assert.Equal(ErrorCodes.InvalidOption, error.Code);
        Assert.Contains("--memory-budget", error.Message, StringComparison.Ordinal);
    }
}
