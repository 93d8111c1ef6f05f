using System.Diagnostics;
using MergeBuild.Execution;
using MergeBuild.Tests;
using Xunit.Abstractions;

namespace MergeBuild.Cli.Tests.Faults;

/// <summary>
/// Kills the real CLI at every step of writing an output (the MERGEBUILD_FAULT hook: SIGKILL at the N-th write,
/// rename or copy) and at random moments (Process.Kill), over a previous output. After each kill the destination
/// is either the previous output, byte for byte, or absent (killed between the two renames), or the new output
/// complete: never partial. A folder carries the marker only when complete, so no build treats a partial one as up
/// to date, and the next run rebuilds byte-identical to an undisturbed run and to the reference merge.
/// </summary>
public sealed class KillDuringMergeTests(ITestOutputHelper output)
{
    private static string Example(string name) =>
        Path.Combine(Path.GetDirectoryName(Fixtures.Root)!, "examples", "recipes", name + ".yml");

    private static string[] Merge(string recipe, string output) => ["merge", Example(recipe), output, "--quiet", "--threads", "2"];

    private sealed record Outputs(SortedDictionary<string, byte[]> Previous, SortedDictionary<string, byte[]> Clean);

    private static Outputs Prepare(TempFolder temp)
    {
        // The previous output is another recipe's merge; the clean one is what the faulted runs must end up with.
        var previous = CliProcess.Run(null, Merge("specialists-task-arithmetic", temp.Combine("previous")));
        Assert.True(previous.ExitCode == 0, previous.Error);
        var clean = CliProcess.Run(null, Merge("specialists-linear", temp.Combine("clean")));
        Assert.True(clean.ExitCode == 0, clean.Error);

        // Independent check of the clean run: the reference linear merge computed outside MergeBuild.
        var reference = RawSafetensors.ReadFolder(Fixtures.ExpectedMerge("linear"));
        var merged = RawSafetensors.ReadFolder(temp.Combine("clean"));
        Assert.All(reference, kv => Assert.Equal(kv.Value.Data, merged[kv.Key].Data));
        return new Outputs(FolderBytes.Read(temp.Combine("previous")), FolderBytes.Read(temp.Combine("clean")));
    }

    private static void ResetDestination(TempFolder temp, string destination)
    {
        foreach (var folder in Directory.GetDirectories(temp.Path, ".out.*"))
        {
            Directory.Delete(folder, recursive: true);
        }

        if (Directory.Exists(destination))
        {
            Directory.Delete(destination, recursive: true);
        }

        CopyFolder(temp.Combine("previous"), destination);
    }

    private static void CopyFolder(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from))
        {
            File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        }
    }

    // What a kill may leave at the destination: the whole previous output, nothing, or the whole new output.
    private static string StateAfterKill(string destination, Outputs outputs)
    {
        if (!Directory.Exists(destination))
        {
            return "absent";
        }

        var now = FolderBytes.Read(destination);
        if (FolderBytes.Same(now, outputs.Previous))
        {
            return "previous";
        }

        Assert.True(FolderBytes.Same(now, outputs.Clean), "the destination holds a partial or mixed output");
        return "new";
    }

    private static void AssertRebuildsCleanly(TempFolder temp, string destination, Outputs outputs)
    {
        var again = CliProcess.Run(null, Merge("specialists-linear", destination));
        Assert.True(again.ExitCode == 0, again.Error);
        FolderBytes.AssertSame(outputs.Clean, destination);

        // The rerun removed what the killed process left beside the destination (its staging or moved-aside folder).
        Assert.Empty(Directory.GetDirectories(temp.Path, ".out.mergebuild-*"));
    }

    [Fact]
    public void Killed_at_every_write_and_rename_step_the_next_run_rebuilds_byte_identical()
    {
        using var temp = new TempFolder();
        var outputs = Prepare(temp);
        var destination = temp.Combine("out");

        // Count the fault points of one undisturbed run over the previous output.
        var log = temp.Combine("points.log");
        ResetDestination(temp, destination);
        var counted = CliProcess.Run(new Dictionary<string, string> { ["MERGEBUILD_FAULT_LOG"] = log }, Merge("specialists-linear", destination));
        Assert.True(counted.ExitCode == 0, counted.Error);
        var points = File.ReadAllLines(log);
        Assert.True(points.Length >= 20, $"only {points.Length} fault points");

        // Kill at 20+ distinct points spread over the whole run, always including every point after the writes.
        var steps = Enumerable.Range(1, points.Length).Where(n => n % Math.Max(1, points.Length / 16) == 0 || n > points.Length - 8).ToList();
        Assert.True(steps.Count >= 20, $"only {steps.Count} kill points");
        var states = new Dictionary<string, int>();
        foreach (var step in steps)
        {
            ResetDestination(temp, destination);
            var killed = CliProcess.Run(new Dictionary<string, string> { ["MERGEBUILD_FAULT"] = $"kill@{step}" }, Merge("specialists-linear", destination));
            Assert.True(killed.ExitCode != 0, $"kill@{step} ({points[step - 1]}) did not kill the CLI");

            var state = StateAfterKill(destination, outputs);
            states[state] = states.GetValueOrDefault(state) + 1;
            Assert.Equal(state != "absent", File.Exists(Path.Combine(destination, AtomicOutputFolder.MarkerFileName)));
            AssertRebuildsCleanly(temp, destination, outputs);
        }

        output.WriteLine($"{points.Length} fault points, killed at {steps.Count}: " + string.Join(", ", states.Select(s => $"{s.Key} {s.Value}")));

        // Every kind of interrupted state was reached.
        Assert.True(states.GetValueOrDefault("previous") > 0 && states.GetValueOrDefault("absent") > 0 && states.GetValueOrDefault("new") > 0,
            string.Join(", ", states.Select(s => $"{s.Key}: {s.Value}")));
    }

    [Fact]
    public void Killed_at_random_moments_the_destination_is_never_partial()
    {
        using var temp = new TempFolder();
        var outputs = Prepare(temp);
        var destination = temp.Combine("out");
        var random = new Random(20261124);
        for (var i = 0; i < 6; i++)
        {
            ResetDestination(temp, destination);
            using var process = CliProcess.Start(null, Merge("specialists-linear", destination));
            Thread.Sleep(random.Next(100, 1500));
            process.Kill();
            process.WaitForExit();

            StateAfterKill(destination, outputs);
            AssertRebuildsCleanly(temp, destination, outputs);
        }
    }
}
