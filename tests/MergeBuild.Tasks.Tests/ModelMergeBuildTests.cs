using System.IO.Compression;
using MergeBuild.Tests;

namespace MergeBuild.Tasks.Tests;

/// <summary>End-to-end: `dotnet build` of a project with &lt;ModelMerge&gt; items, as a user runs it.</summary>
public class ModelMergeBuildTests
{
    private const string Linear = RecipeFiles.TwoModelLinear;

    private const string Ties = """
        merge_method: ties
        base_model: {models}/base
        parameters: {density: 0.5, weight: 1.0}
        models:
          - model: {models}/shipping
          - model: {models}/refunds
          - model: {models}/catalog
        dtype: float32
        out_dtype: bfloat16
        """;

    private static int MergeLines(DotnetCommand.Result result, string recipe) =>
        result.Output.Split('\n').Count(l => l.Contains(recipe + ".yml →", StringComparison.Ordinal) &&
                                             l.Contains(" tensors, ", StringComparison.Ordinal));

    [Fact]
    public void First_build_merges_and_later_builds_skip_until_an_input_changes()
    {
        using var project = new ConsumerProject(("ties", Ties), ("linear", Linear));

        var first = project.Build();
        Assert.True(first.ExitCode == 0, first.ToString());
        Assert.Equal(1, MergeLines(first, "ties"));
        Assert.Equal(1, MergeLines(first, "linear"));
        var merged = RawSafetensors.ReadFolder(project.BinModelFolder("ties"));
        var reference = RawSafetensors.ReadFolder(Fixtures.ExpectedMerge("ties-d0.5"));
        Assert.All(reference, kv => Assert.Equal(kv.Value.Data, merged[kv.Key].Data));

        // Nothing changed: the merge target is skipped (how long the check takes is measured by hand, not asserted:
        // a wall-clock bound in a test only measures how loaded the CI machine is).
        var second = project.Build();
        Assert.True(second.ExitCode == 0, second.ToString());
        Assert.Contains("Skipping target \"MergeBuildMerge\"", second.Output, StringComparison.Ordinal);
        Assert.Equal(0, MergeLines(second, "ties") + MergeLines(second, "linear"));
        Assert.Contains("ties.yml → obj/Debug/net10.0/models/ties: up to date", second.Output, StringComparison.Ordinal);

        // Touching the recipe without changing it: still up to date.
        File.SetLastWriteTimeUtc(project.PathOf("ties.yml"), DateTime.UtcNow);
        var touched = project.Build();
        Assert.Equal(0, MergeLines(touched, "ties") + MergeLines(touched, "linear"));

        // A comment is not a change either: the recipe is compared by content, not text.
        File.AppendAllText(project.PathOf("ties.yml"), "\n# tuned on 2026-11-24\n");
        Assert.Equal(0, MergeLines(project.Build(), "ties"));

        // Changing one recipe rebuilds that item only.
        project.WriteRecipe("ties", Ties.Replace("density: 0.5", "density: 0.6", StringComparison.Ordinal));
        var changed = project.Build();
        Assert.True(changed.ExitCode == 0, changed.ToString());
        Assert.Equal(1, MergeLines(changed, "ties"));
        Assert.Equal(0, MergeLines(changed, "linear"));
    }

    [Fact]
    public void Changing_one_byte_of_a_weight_file_rebuilds_but_touching_it_does_not()
    {
        using var project = new ConsumerProject();
        var model = project.PathOf("shipping-copy");
        Directory.CreateDirectory(model);
        foreach (var file in Directory.GetFiles(Fixtures.Model("shipping")))
        {
            File.Copy(file, Path.Combine(model, Path.GetFileName(file)));
        }

        project.WriteRecipe("copy", Linear.Replace("{models}/shipping", "shipping-copy", StringComparison.Ordinal));
        project.WriteProject("copy");
        Assert.Equal(1, MergeLines(project.Build(), "copy"));

        var weights = Path.Combine(model, "model.safetensors");
        File.SetLastWriteTimeUtc(weights, DateTime.UtcNow.AddMinutes(1));
        Assert.Equal(0, MergeLines(project.Build(), "copy"));

        using (var stream = new FileStream(weights, FileMode.Open, FileAccess.ReadWrite))
        {
            stream.Seek(-2, SeekOrigin.End);
            var b = stream.ReadByte();
            stream.Seek(-1, SeekOrigin.Current);
            stream.WriteByte((byte)(b ^ 1));
        }

        var rebuilt = project.Build();
        Assert.True(rebuilt.ExitCode == 0, rebuilt.ToString());
        Assert.Equal(1, MergeLines(rebuilt, "copy"));
    }

    [Fact]
    public void An_item_that_merges_another_items_output_runs_after_it()
    {
        // Declared first, but it uses step1's output, so step1 merges first.
        using var project = new ConsumerProject(
            ("step2", """
                merge_method: linear
                models:
                  - model: obj/Debug/net10.0/models/step1
                    parameters: {weight: 1.0}
                  - model: {models}/catalog
                    parameters: {weight: 1.0}
                """),
            ("step1", Linear));
        var result = project.Build();
        Assert.True(result.ExitCode == 0, result.ToString());
        var lines = result.Output.Split('\n');
        var first = Array.FindIndex(lines, l => l.Contains("step1.yml →", StringComparison.Ordinal));
        var second = Array.FindIndex(lines, l => l.Contains("step2.yml →", StringComparison.Ordinal));
        Assert.InRange(first, 0, second - 1);

        // Changing step1 rebuilds both: step2's fingerprint includes step1's.
        project.WriteRecipe("step1", Linear.Replace("weight: 1.0}", "weight: 0.5}", StringComparison.Ordinal));
        var again = project.Build();
        Assert.Equal(1, MergeLines(again, "step1"));
        Assert.Equal(1, MergeLines(again, "step2"));
    }

    [Fact]
    public void Removing_an_item_removes_its_outputs()
    {
        using var project = new ConsumerProject(("ties", Ties), ("linear", Linear));
        Assert.Equal(0, project.Build().ExitCode);
        Assert.True(File.Exists(Path.Combine(project.BinModelFolder("linear"), "model.safetensors")));

        project.WriteProject("ties");
        var result = project.Build();
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.False(File.Exists(Path.Combine(project.ModelFolder("linear"), "model.safetensors")));
        Assert.False(File.Exists(Path.Combine(project.BinModelFolder("linear"), "model.safetensors")));
        Assert.True(File.Exists(Path.Combine(project.BinModelFolder("ties"), "model.safetensors")));
    }

    [Fact]
    public void A_recipe_error_points_at_its_line_and_column_with_a_code()
    {
        using var project = new ConsumerProject(("bad", "merge_method: linear\nmodels:\n  - model: x\n    parametres: {weight: 1}\n"));
        var result = project.Build();
        Assert.NotEqual(0, result.ExitCode);
        Assert.Matches(@"bad\.yml\(4,5\): error MB2003: ModelMerge 'bad\.yml': unknown key 'parametres'", result.Output);
    }

    [Fact]
    public void A_missing_model_names_the_item_and_the_path()
    {
        using var project = new ConsumerProject(("missing", Linear.Replace("{models}/refunds", "nowhere/refunds", StringComparison.Ordinal)));
        var result = project.Build();
        Assert.NotEqual(0, result.ExitCode);
        Assert.Matches(@"missing\.yml\(5,\d+\): error MB3001: ModelMerge 'missing\.yml': model folder 'nowhere/refunds' does not exist", result.Output);
    }

    [Fact]
    public void Pack_and_publish_carry_the_merged_model()
    {
        using var project = new ConsumerProject(("linear", Linear));
        var pack = DotnetCommand.Run(project.Directory, "pack", "-nr:false", "-o", project.PathOf("packages"));
        Assert.True(pack.ExitCode == 0, pack.ToString());
        using (var package = ZipFile.OpenRead(project.PathOf("packages", "App.1.0.0.nupkg")))
        {
            var entries = package.Entries.Select(e => e.FullName).ToList();
            Assert.Contains("models/linear/model.safetensors", entries);
            Assert.Contains("models/linear/config.json", entries);
            Assert.DoesNotContain(entries, e => e.EndsWith(".mergebuild-output", StringComparison.Ordinal));
        }

        var publish = DotnetCommand.Run(project.Directory, "publish", "-nr:false", "-o", project.PathOf("published"));
        Assert.True(publish.ExitCode == 0, publish.ToString());
        Assert.True(File.Exists(project.PathOf("published", "models", "linear", "model.safetensors")));
        Assert.True(File.Exists(project.PathOf("published", "models", "linear", "tokenizer.json")));
    }
}
