using MergeBuild.Tests;

namespace MergeBuild.Cli.Tests.Faults;

/// <summary>
/// Two CLI processes merging the same recipe into the same folder at the same time (what two builds of one project
/// do) both succeed, and the folder ends up byte-identical to a lone run, with nothing left beside it.
/// </summary>
public sealed class ConcurrentMergeTests
{
    private static string Example(string name) =>
        Path.Combine(Path.GetDirectoryName(Fixtures.Root)!, "examples", "recipes", name + ".yml");

    [Fact]
    public async Task Two_processes_merging_into_one_folder_at_once_both_succeed_with_a_complete_output()
    {
        using var temp = new TempFolder();
        var alone = CliProcess.Run(null, "merge", Example("specialists-linear"), temp.Combine("alone"), "--quiet");
        Assert.True(alone.ExitCode == 0, alone.Error);
        var expected = FolderBytes.Read(temp.Combine("alone"));
        var destination = temp.Combine("out");

        for (var round = 0; round < 3; round++)
        {
            using var a = CliProcess.Start(null, "merge", Example("specialists-linear"), destination, "--quiet");
            using var b = CliProcess.Start(null, "merge", Example("specialists-linear"), destination, "--quiet");
            var errorA = a.StandardError.ReadToEndAsync();
            var errorB = b.StandardError.ReadToEndAsync();
            await a.WaitForExitAsync();
            await b.WaitForExitAsync();

            Assert.True(a.ExitCode == 0, await errorA);
            Assert.True(b.ExitCode == 0, await errorB);
            FolderBytes.AssertSame(expected, destination);
            Assert.Empty(Directory.GetDirectories(temp.Path, ".out.mergebuild-*"));
        }
    }
}
