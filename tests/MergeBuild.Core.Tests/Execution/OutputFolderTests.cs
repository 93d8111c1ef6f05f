using System.Text.Json.Nodes;
using MergeBuild.Diagnostics;
using MergeBuild.Execution;
using MergeBuild.Tests;

namespace MergeBuild.Core.Tests.Execution;

public class OutputFolderTests
{
    private const string Recipe = """
        merge_method: linear
        models:
          - model: {models}/shipping
            parameters: {weight: 0.6}
          - model: {models}/refunds
            parameters: {weight: 0.4}
        """;

    [Fact]
    public void Two_runs_and_any_thread_count_give_byte_identical_folders()
    {
        using var temp = new TempFolder();
        var first = MergeRunner.Merge(temp, Recipe, new MergeOptions { Threads = 1 }, "one");
        var second = MergeRunner.Merge(temp, Recipe, new MergeOptions { Threads = 2, ChunkElements = 1000 }, "two");
        var third = MergeRunner.Merge(temp, Recipe, new MergeOptions { Threads = 8, ChunkElements = 77 }, "three");

        var names = Directory.GetFiles(first).Select(Path.GetFileName).Order().ToList();
        Assert.Equal(names, Directory.GetFiles(second).Select(Path.GetFileName).Order());
        foreach (var name in names)
        {
            var bytes = File.ReadAllBytes(Path.Combine(first, name!));
            Assert.Equal(bytes, File.ReadAllBytes(Path.Combine(second, name!)));
            Assert.Equal(bytes, File.ReadAllBytes(Path.Combine(third, name!)));
        }
    }

    [Fact]
    public void The_output_has_config_tokenizer_generation_config_and_a_model_card()
    {
        using var temp = new TempFolder();
        var output = MergeRunner.Merge(temp, Recipe);

        foreach (var file in new[] { "config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                     "generation_config.json", "README.md", "mergekit_config.yml", "model.safetensors" })
        {
            Assert.True(File.Exists(Path.Combine(output, file)), file);
        }

        Assert.Equal(File.ReadAllBytes(Path.Combine(Fixtures.Model("shipping"), "generation_config.json")),
            File.ReadAllBytes(Path.Combine(output, "generation_config.json")));
        var card = File.ReadAllText(Path.Combine(output, "README.md"));
        Assert.Contains("`linear`", card, StringComparison.Ordinal);
        Assert.Contains("random seed: 1234", card, StringComparison.Ordinal);
        Assert.Contains("weight: 0.6", card, StringComparison.Ordinal);
        // One row per input weight file and config, each with a 32-hex-digit content hash.
        Assert.Equal(4, card.Split('\n').Count(l => System.Text.RegularExpressions.Regex.IsMatch(l, "`[0-9a-f]{32}`")));
        // No dtype in the recipe: the config keeps the donor's torch_dtype.
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(output, "config.json")))!;
        Assert.Equal("bfloat16", config["torch_dtype"]!.GetValue<string>());
        // No temporary folders are left beside the output.
        Assert.Single(Directory.GetDirectories(temp.Path));
    }

    [Fact]
    public void Out_dtype_is_recorded_in_the_config()
    {
        using var temp = new TempFolder();
        var output = MergeRunner.Merge(temp, Recipe + "\ndtype: float32\nout_dtype: float16\n");
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(output, "config.json")))!;
        Assert.Equal("float16", config["torch_dtype"]!.GetValue<string>());
        Assert.All(RawSafetensors.ReadFolder(output).Values, t => Assert.Equal("F16", t.DType));
    }

    [Fact]
    public void Small_shard_size_writes_shards_and_an_index_with_the_same_tensors()
    {
        using var temp = new TempFolder();
        var whole = MergeRunner.Merge(temp, Recipe, output: "whole");
        var sharded = MergeRunner.Merge(temp, Recipe, new MergeOptions { MaxShardBytes = 400_000 }, "sharded");

        var shards = Directory.GetFiles(sharded, "model-*.safetensors").Select(Path.GetFileName).Order().ToList();
        Assert.True(shards.Count >= 4);
        Assert.Equal($"model-00001-of-{shards.Count:D5}.safetensors", shards[0]);
        Assert.All(shards, s => Assert.True(new FileInfo(Path.Combine(sharded, s!)).Length < 400_000 + 8192));
        var index = JsonNode.Parse(File.ReadAllText(Path.Combine(sharded, "model.safetensors.index.json")))!;
        Assert.Equal(1_617_664, index["metadata"]!["total_size"]!.GetValue<long>());
        var a = RawSafetensors.ReadFolder(whole);
        var b = RawSafetensors.ReadFolder(sharded);
        Assert.Equal(a.Keys.Order(), b.Keys.Order());
        Assert.All(a, kv => Assert.Equal(kv.Value.Data, b[kv.Key].Data));
    }

    [Fact]
    public void A_folder_with_foreign_files_is_never_replaced()
    {
        using var temp = new TempFolder();
        var precious = temp.Combine("out", "thesis.txt");
        Directory.CreateDirectory(temp.Combine("out"));
        File.WriteAllText(precious, "do not lose me");

        var error = Assert.Throws<MergeBuildException>(() => MergeRunner.Merge(temp, Recipe));
        Assert.Equal(ErrorCodes.OutputNotWritable, error.Code);
        Assert.Equal("do not lose me", File.ReadAllText(precious));
        Assert.Single(Directory.GetDirectories(temp.Path));
    }

    [Fact]
    public void A_previous_output_is_replaced_whole()
    {
        using var temp = new TempFolder();
        var output = MergeRunner.Merge(temp, Recipe);
        File.WriteAllText(Path.Combine(output, "stale.txt"), "from an older merge");
        MergeRunner.Merge(temp, Recipe);
        Assert.False(File.Exists(Path.Combine(output, "stale.txt")));
        Assert.True(File.Exists(Path.Combine(output, "model.safetensors")));
    }

    [Fact]
    public void Staging_folders_of_killed_merges_are_removed_by_the_next_merge()
    {
        using var temp = new TempFolder();
        // A process id that cannot be running (beyond Linux's pid_max) and the current process's own.
        var abandoned = temp.Combine(".out.mergebuild-99999999-0123456789abcdef.tmp");
        Directory.CreateDirectory(abandoned);
        File.WriteAllText(Path.Combine(abandoned, "model.safetensors"), "half written");
        MergeRunner.Merge(temp, Recipe);
        Assert.False(Directory.Exists(abandoned));
        Assert.Equal(["out"], Directory.GetDirectories(temp.Path).Select(Path.GetFileName));
    }
}
