using System.Collections;
using MergeBuild.Tests;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

namespace MergeBuild.Tasks.Tests;

/// <summary>The fingerprinting task run directly (no build): how it reads an item's option metadata.</summary>
public class ResolveModelMergesTests
{
    private const string Linear = RecipeFiles.TwoModelLinear;

    [Theory]
    [InlineData("Seed", "12a4", "Invalid Seed '12a4': expected a whole number")]
    [InlineData("Seed", "-1", "Invalid Seed '-1': expected a whole number")]
    [InlineData("CopyTokenizer", "maybe", "Invalid CopyTokenizer 'maybe': expected true or false")]
    [InlineData("OutShardSize", "2G", "Invalid OutShardSize '2G': sizes here count")]
    public void A_value_the_merge_would_refuse_is_an_error_naming_the_item_and_the_metadata(string name, string value,
        string expected)
    {
        using var temp = new TempFolder();
        var (succeeded, resolved, errors) = Resolve(temp, (name, value));

        Assert.False(succeeded);
        Assert.Empty(resolved);
        var error = Assert.Single(errors);
        Assert.Equal("MB5001", error.Code);
        Assert.StartsWith($"ModelMerge '{temp.Combine("recipe.yml")}': {expected}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CopyTokenizer_is_read_as_MSBuild_reads_a_bool_parameter()
    {
        using var temp = new TempFolder();
        var byValue = new[] { "true", "yes", "On", "!false", "false", "no", "OFF", "!true" }
            .ToDictionary(v => v, v => Fingerprint(temp, ("CopyTokenizer", v)));

        Assert.All(new[] { "yes", "On", "!false" }, v => Assert.Equal(byValue["true"], byValue[v]));
        Assert.All(new[] { "no", "OFF", "!true" }, v => Assert.Equal(byValue["false"], byValue[v]));
        Assert.NotEqual(byValue["true"], byValue["false"]);
        Assert.Equal(Fingerprint(temp), byValue["true"]);
    }

    [Fact]
    public void A_seed_changes_the_fingerprint_and_the_default_seed_does_not()
    {
        using var temp = new TempFolder();
        Assert.Equal(Fingerprint(temp), Fingerprint(temp, ("Seed", Execution.MergeOptions.DefaultRandomSeed.ToString(
            System.Globalization.CultureInfo.InvariantCulture))));
        Assert.NotEqual(Fingerprint(temp), Fingerprint(temp, ("Seed", "7")));
    }

    private static string Fingerprint(TempFolder temp, params (string Name, string Value)[] metadata)
    {
        var (succeeded, resolved, errors) = Resolve(temp, metadata);
        Assert.True(succeeded, string.Join("\n", errors.Select(e => e.Message)));
        return Assert.Single(resolved).GetMetadata("Fingerprint");
    }

    private static (bool Succeeded, ITaskItem[] Resolved, List<BuildErrorEventArgs> Errors) Resolve(TempFolder temp,
        params (string Name, string Value)[] metadata)
    {
        var recipe = RecipeFiles.Write(temp, Linear);
        var item = new TaskItem(recipe);
        item.SetMetadata("OutputName", "merged");
        item.SetMetadata("OutputFolder", temp.Combine("out", "merged"));
        foreach (var (name, value) in metadata)
        {
            item.SetMetadata(name, value);
        }

        var engine = new RecordingEngine();
        var task = new ResolveModelMerges { BuildEngine = engine, Merges = [item], StampDirectory = temp.Combine("stamps") };
        var succeeded = task.Execute();
        return (succeeded, task.Resolved, engine.Errors);
    }

    private sealed class RecordingEngine : IBuildEngine
    {
        public List<BuildErrorEventArgs> Errors { get; } = [];

        public bool ContinueOnError => false;

        public int LineNumberOfTaskNode => 0;

        public int ColumnNumberOfTaskNode => 0;

        public string ProjectFileOfTaskNode => "test.proj";

        public void LogErrorEvent(BuildErrorEventArgs e) => Errors.Add(e);

        public void LogWarningEvent(BuildWarningEventArgs e)
        {
        }

        public void LogMessageEvent(BuildMessageEventArgs e)
        {
        }

        public void LogCustomEvent(CustomBuildEventArgs e)
        {
        }

        public bool BuildProjectFile(string projectFileName, string[] targetNames, IDictionary globalProperties,
            IDictionary targetOutputs) => throw new NotSupportedException();
    }
}
