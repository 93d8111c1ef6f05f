using MergeBuild.Execution;
using MergeBuild.Tests;

namespace MergeBuild.Tasks.Tests;

/// <summary>
/// `dotnet build` through faults: the merge tool killed mid-write, an output folder whose marker belongs to another
/// merge (what a slower racing build leaves), and two builds of one project at once. Each ends with the reference
/// merge (fixtures/expected/merges/linear, computed outside MergeBuild) in place and no stale "up to date".
/// </summary>
public class BuildFaultTests
{
    private const string Previous = """
        merge_method: linear
        models:
          - model: {models}/shipping
            parameters: {weight: 1.0}
          - model: {models}/refunds
            parameters: {weight: 3.0}
        dtype: float32
        out_dtype: bfloat16
        """;

    private static void AssertReferenceMerge(ConsumerProject project)
    {
        var merged = RawSafetensors.ReadFolder(project.ModelFolder("m"));
        var reference = RawSafetensors.ReadFolder(Fixtures.ExpectedMerge("linear"));
        Assert.Equal(reference.Keys.Order(), merged.Keys.Order());
        Assert.All(reference, kv => Assert.Equal(kv.Value.Data, merged[kv.Key].Data));
    }

    private static bool Merged(DotnetCommand.Result result) =>
        result.Output.Contains("m.yml →", StringComparison.Ordinal) && result.Output.Contains(" tensors, ", StringComparison.Ordinal);

    [Fact]
    public void A_build_whose_merge_tool_is_killed_fails_and_the_next_build_rebuilds()
    {
        using var project = new ConsumerProject(("m", Previous));
        var first = project.Build();
        Assert.True(first.ExitCode == 0, first.ToString());
        project.WriteRecipe("m", RecipeFiles.SpecialistsLinear);

        // Killed early (first tensor writes), late (marker written) and between the two renames.
        foreach (var step in new[] { 1, 20, 45 })
        {
            var killed = project.Build(new Dictionary<string, string> { ["MERGEBUILD_FAULT"] = $"kill@{step}" });
            Assert.True(killed.ExitCode != 0, $"kill@{step} did not fail the build:\n{killed}");
        }

        var next = project.Build();
        Assert.True(next.ExitCode == 0, next.ToString());
        Assert.True(Merged(next), next.ToString());
        AssertReferenceMerge(project);

        var after = project.Build();
        Assert.Contains("m.yml → obj/Debug/net10.0/models/m: up to date", after.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void An_output_whose_marker_records_another_fingerprint_is_rebuilt_even_when_newer()
    {
        using var project = new ConsumerProject(("m", RecipeFiles.SpecialistsLinear));
        var first = project.Build();
        Assert.True(first.ExitCode == 0, first.ToString());
        var ours = OutputMarker.ReadFingerprint(project.ModelFolder("m"));
        Assert.False(string.IsNullOrEmpty(ours));

        // What a slower build of another recipe leaves when it commits last: its fingerprint, a newer file time.
        var marker = Path.Combine(project.ModelFolder("m"), AtomicOutputFolder.MarkerFileName);
        File.WriteAllText(marker, OutputMarker.Render("another-merge"));
        File.SetLastWriteTimeUtc(marker, DateTime.UtcNow.AddMinutes(1));

        var next = project.Build();
        Assert.True(next.ExitCode == 0, next.ToString());
        Assert.True(Merged(next), "the foreign output was taken as up to date:\n" + next);
        Assert.Equal(ours, OutputMarker.ReadFingerprint(project.ModelFolder("m")));
        AssertReferenceMerge(project);
    }

    [Fact]
    public async Task Two_builds_of_one_project_at_once_end_with_the_complete_merge()
    {
        using var project = new ConsumerProject(("m", Previous));
        var first = project.Build();
        Assert.True(first.ExitCode == 0, first.ToString());
        project.WriteRecipe("m", RecipeFiles.SpecialistsLinear);

        var builds = await Task.WhenAll(Task.Run(() => project.Build("--no-restore")), Task.Run(() => project.Build("--no-restore")));

        Assert.All(builds, b => Assert.True(b.ExitCode == 0, b.ToString()));
        AssertReferenceMerge(project);
        Assert.Empty(Directory.GetDirectories(Path.GetDirectoryName(project.ModelFolder("m"))!, ".m.mergebuild-*"));
        var after = project.Build();
        Assert.Contains("m.yml → obj/Debug/net10.0/models/m: up to date", after.Output, StringComparison.Ordinal);
    }
}
