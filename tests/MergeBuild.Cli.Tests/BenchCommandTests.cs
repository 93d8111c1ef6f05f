using MergeBuild.Tests;

namespace MergeBuild.Cli.Tests;

public class BenchCommandTests
{
    [Fact]
    public void A_repeat_count_below_one_is_refused_before_any_model_is_written()
    {
        using var temp = new TempFolder();
        var result = CliRunner.Run("bench", "--repeat", "0", "--dir", temp.Path);
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("error MB5001", result.Error, StringComparison.Ordinal);
        Assert.Contains("--repeat must be at least 1", result.Error, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFileSystemEntries(temp.Path));
    }

    [Fact]
    public void An_unknown_method_is_refused_with_the_known_ones_before_any_model_is_written()
    {
        using var temp = new TempFolder();
        var result = CliRunner.Run("bench", "--methods", "ties,tie", "--dir", temp.Path);
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("error MB5001", result.Error, StringComparison.Ordinal);
        Assert.Contains("no benchmark of 'tie'", result.Error, StringComparison.Ordinal);
        Assert.Contains("dare_linear_norescale", result.Error, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFileSystemEntries(temp.Path));
    }
}
