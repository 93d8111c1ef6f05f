using MergeBuild.Tests;

namespace MergeBuild.Cli.Tests.Faults;

/// <summary>
/// A full disk (the IOException ENOSPC gives, injected at a write, at the marker and between the two renames), a
/// denied write, and a really unwritable location: one clear MB4xxx line, exit 1, no stack trace, and the previous
/// output byte for byte as it was.
/// </summary>
public sealed class OutputFailureTests
{
    private static string Example(string name) =>
        Path.Combine(Path.GetDirectoryName(Fixtures.Root)!, "examples", "recipes", name + ".yml");

    private static string[] Merge(string output) => ["merge", Example("specialists-linear"), output, "--quiet"];

    private static (string Destination, SortedDictionary<string, byte[]> Previous, string[] Points) Prepare(TempFolder temp)
    {
        var destination = temp.Combine("out");
        var first = CliProcess.Run(null, "merge", Example("specialists-task-arithmetic"), destination, "--quiet");
        Assert.True(first.ExitCode == 0, first.Error);
        var previous = FolderBytes.Read(destination);

        // The points one run over this previous output reaches, to aim the faults by name; then the previous output
        // is made again (the same bytes: merges are deterministic, checked below).
        var log = temp.Combine("points.log");
        var counted = CliProcess.Run(new Dictionary<string, string> { ["MERGEBUILD_FAULT_LOG"] = log }, Merge(destination));
        Assert.True(counted.ExitCode == 0, counted.Error);
        var again = CliProcess.Run(null, "merge", Example("specialists-task-arithmetic"), destination, "--quiet");
        Assert.True(again.ExitCode == 0, again.Error);
        FolderBytes.AssertSame(previous, destination);
        return (destination, previous, File.ReadAllLines(log).Select(l => l[(l.IndexOf(' ', StringComparison.Ordinal) + 1)..]).ToArray());
    }

    [Theory]
    [InlineData("enospc", "tensor bytes written", "MB4002", "the disk is full")]
    [InlineData("enospc", "config written", "MB4002", "the disk is full")]
    [InlineData("enospc", "model card written", "MB4002", "the disk is full")]
    [InlineData("enospc", "marker written", "MB4002", "No space left on device")]
    [InlineData("eacces", "tensor bytes written", "MB4001", "denied")]
    [InlineData("eacces", "side file copied", "MB4001", "denied")]
    public void A_failing_write_is_one_clear_error_and_the_previous_output_stays(string kind, string point, string code, string text)
    {
        using var temp = new TempFolder();
        var (destination, previous, points) = Prepare(temp);
        var at = Array.IndexOf(points, point) + 1;
        Assert.True(at > 0, $"no point '{point}' in: {string.Join(", ", points.Distinct())}");

        var failed = CliProcess.Run(new Dictionary<string, string> { ["MERGEBUILD_FAULT"] = $"{kind}@{at}" }, Merge(destination));

        Assert.Equal(1, failed.ExitCode);
        var line = Assert.Single(failed.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains($"error {code}:", line, StringComparison.Ordinal);
        Assert.Contains(text, line, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", failed.Error, StringComparison.Ordinal);
        FolderBytes.AssertSame(previous, destination);
        Assert.Empty(Directory.GetDirectories(temp.Path, ".out.mergebuild-*"));
    }

    [Fact]
    public void A_failure_after_the_previous_output_was_moved_aside_moves_it_back()
    {
        using var temp = new TempFolder();
        var (destination, previous, points) = Prepare(temp);
        var at = Array.IndexOf(points, "previous output moved aside") + 1;
        Assert.True(at > 0);

        var failed = CliProcess.Run(new Dictionary<string, string> { ["MERGEBUILD_FAULT"] = $"enospc@{at}" }, Merge(destination));

        Assert.Equal(1, failed.ExitCode);
        Assert.Contains("error MB4002:", failed.Error, StringComparison.Ordinal);
        FolderBytes.AssertSame(previous, destination);
    }

    [Fact]
    public void An_output_where_nothing_can_be_created_is_MB4001()
    {
        // /proc refuses new folders even to root, so this is a real unwritable location on any Linux machine.
        if (!OperatingSystem.IsLinux())
        {
            return; // MergeBuild runs its builds on Linux; elsewhere there is no /proc to write to.
        }

        var failed = CliProcess.Run(null, Merge("/proc/mergebuild-out"));

        Assert.Equal(1, failed.ExitCode);
        Assert.Contains("error MB4001:", failed.Error, StringComparison.Ordinal);
        Assert.Contains("/proc/mergebuild-out", failed.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", failed.Error, StringComparison.Ordinal);
    }
}
