using System.Diagnostics;
using System.Security.Cryptography;
using MergeBuild.Tests;

namespace MergeBuild.Cli.Tests;

/// <summary>
/// <c>mergebuild merge</c> through the merge cache and <c>mergebuild cache</c>, with temporary cache folders and
/// folder feeds (no network, never the user's cache).
/// </summary>
public class CacheCommandTests
{
    [Fact]
    public void A_second_project_with_an_empty_cache_restores_from_the_feed_what_the_first_published()
    {
        using var temp = new TempFolder();
        var feed = temp.Combine("feed");
        Directory.CreateDirectory(temp.Combine("ci"));
        Directory.CreateDirectory(temp.Combine("dev"));
        var ciRecipe = RecipeFiles.Write(temp, RecipeFiles.SpecialistsLinear, Path.Combine("ci", "recipe.yml"));
        var devRecipe = RecipeFiles.Write(temp, RecipeFiles.SpecialistsLinear, Path.Combine("dev", "recipe.yml"));

        var first = CliRunner.RunWithCache("merge", ciRecipe, temp.Combine("ci", "out"), "--cache-dir", temp.Combine("ci-cache"),
            "--feed", feed, "--publish", "--feed-part-size", "300k");
        // A merge with --device gpu opens the device first: without a CUDA GPU (this machine) that fails the command, and
        // with one it prints "device: …". A restore never opens it, so success without that line means no merge ran.
        var second = CliRunner.RunWithCache("merge", devRecipe, temp.Combine("dev", "out"), "--cache-dir", temp.Combine("dev-cache"),
            "--feed", feed, "--device", "gpu");

        Assert.True(first.ExitCode == 0, first.Error);
        Assert.Contains("linear, 3 models, 39 tensors", first.Output, StringComparison.Ordinal);
        Assert.Matches(@"published to the cache feed .* \(\d+ packages\)", first.Output);
        Assert.True(second.ExitCode == 0, second.Error);
        Assert.Contains($"restored from cache (feed: {feed})", second.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("device:", second.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("merging:", second.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("linear, 3 models", second.Output, StringComparison.Ordinal);
        Assert.Equal(HashFolder(temp.Combine("ci", "out")), HashFolder(temp.Combine("dev", "out")));
        AssertIsTheReferenceMerge(temp.Combine("dev", "out"));
    }

    [Fact]
    public void A_tampered_local_cache_file_is_reported_and_the_merge_rebuilt()
    {
        using var temp = new TempFolder();
        var recipe = RecipeFiles.Write(temp, RecipeFiles.SpecialistsLinear);
        var cache = temp.Combine("cache");
        Assert.Equal(0, CliRunner.RunWithCache("merge", recipe, temp.Combine("a"), "--cache-dir", cache).ExitCode);
        var weights = File.ReadAllBytes(temp.Combine("a", "model.safetensors"));
        var blob = Directory.GetFiles(Path.Combine(cache, "blobs"), Sha256(weights), SearchOption.AllDirectories).Single();
        File.WriteAllBytes(blob, [.. weights[..^1], (byte)(weights[^1] ^ 1)]);

        var second = CliRunner.RunWithCache("merge", recipe, temp.Combine("b"), "--cache-dir", cache);
        var third = CliRunner.RunWithCache("merge", recipe, temp.Combine("c"), "--cache-dir", cache);

        Assert.Equal(0, second.ExitCode);
        Assert.Matches(@"warning MB4101: the cached file 'model\.safetensors' .* does not match its hash", second.Error);
        Assert.Contains("linear, 3 models, 39 tensors", second.Output, StringComparison.Ordinal);
        Assert.Equal(HashFolder(temp.Combine("a")), HashFolder(temp.Combine("b")));
        Assert.Contains($"restored from cache (local: {cache})", third.Output, StringComparison.Ordinal);
        Assert.Equal(HashFolder(temp.Combine("a")), HashFolder(temp.Combine("c")));
    }

    [Fact]
    public async Task Two_processes_filling_the_same_entry_both_write_the_reference_merge()
    {
        using var temp = new TempFolder();
        var recipe = RecipeFiles.Write(temp, RecipeFiles.SpecialistsLinear);
        var cache = temp.Combine("cache");
        var cli = Path.Combine(AppContext.BaseDirectory, "mergebuild.dll");

        var processes = new[] { "a", "b" }.Select(name =>
        {
            var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var arg in new[] { cli, "merge", recipe, temp.Combine(name), "--cache-dir", cache, "--quiet" })
            {
                start.ArgumentList.Add(arg);
            }

            start.Environment.Remove("MERGEBUILD_CACHE_MODE");
            return Process.Start(start)!;
        }).ToList();
        var outputs = new List<(string Out, string Err)>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        foreach (var process in processes)
        {
            var output = process.StandardOutput.ReadToEndAsync(timeout.Token);
            var error = process.StandardError.ReadToEndAsync(timeout.Token);
            await process.WaitForExitAsync(timeout.Token);
            outputs.Add((await output, await error));
            Assert.True(process.ExitCode == 0, outputs[^1].Err);
            process.Dispose();
        }

        // The entry's lock lets one of them merge; the other waits and restores what it stored.
        var lines = outputs.SelectMany(o => o.Out.Split('\n')).ToList();
        Assert.Single(lines, l => l.Contains("linear, 3 models", StringComparison.Ordinal));
        Assert.Single(lines, l => l.Contains("restored from cache (local:", StringComparison.Ordinal));
        Assert.Equal(HashFolder(temp.Combine("a")), HashFolder(temp.Combine("b")));
        Assert.Single(Directory.GetFiles(Path.Combine(cache, "entries"), "*.json"));
        Assert.True(File.Exists(temp.Combine("a", ".mergebuild-output")));
        Assert.True(File.Exists(temp.Combine("b", ".mergebuild-output")));
        AssertIsTheReferenceMerge(temp.Combine("a"));
        AssertIsTheReferenceMerge(temp.Combine("b"));
    }

    [Fact]
    public void Cache_list_verify_and_prune_report_and_evict()
    {
        using var temp = new TempFolder();
        var cache = temp.Combine("cache");
        var one = RecipeFiles.Write(temp, RecipeFiles.SpecialistsLinear, "one.yml");
        var two = RecipeFiles.Write(temp, RecipeFiles.SpecialistsLinear.Replace("out_dtype: bfloat16", "out_dtype: float16", StringComparison.Ordinal), "two.yml");
        Assert.Equal(0, CliRunner.RunWithCache("merge", one, temp.Combine("one"), "--cache-dir", cache, "-q").ExitCode);
        Assert.Equal(0, CliRunner.RunWithCache("merge", two, temp.Combine("two"), "--cache-dir", cache, "-q").ExitCode);

        var list = CliRunner.RunWithCache("cache", "list", "--cache-dir", cache);
        var verify = CliRunner.RunWithCache("cache", "verify", "--cache-dir", cache);
        var prune = CliRunner.RunWithCache("cache", "prune", "--cache-dir", cache, "--max-size", "1");

        Assert.Equal(0, list.ExitCode);
        Assert.Contains("2 merges", list.Output, StringComparison.Ordinal);
        Assert.Matches(@"(?m)^[0-9a-f]{32} +\d+ files", list.Output);
        Assert.Equal(0, verify.ExitCode);
        Assert.Contains("2 merges verified, 0 removed", verify.Output, StringComparison.Ordinal);
        Assert.Equal(0, prune.ExitCode);
        Assert.Contains("2 merges evicted", prune.Output, StringComparison.Ordinal);
        Assert.Contains("0 B left", prune.Output, StringComparison.Ordinal);
        Assert.Contains("0 merges", CliRunner.RunWithCache("cache", "list", "--cache-dir", cache).Output, StringComparison.Ordinal);
    }

    [Fact]
    public void The_recipe_cache_section_turns_the_cache_off_and_does_not_change_the_fingerprint()
    {
        using var temp = new TempFolder();
        var cache = temp.Combine("cache");
        var plain = RecipeFiles.Write(temp, RecipeFiles.SpecialistsLinear, "plain.yml");
        var off = RecipeFiles.Write(temp, RecipeFiles.SpecialistsLinear + "\ncache: {mode: off}\n", "off.yml");

        var skipped = CliRunner.RunWithCache("merge", off, temp.Combine("off"), "--cache-dir", cache, "-q");
        Assert.Equal(0, skipped.ExitCode);
        Assert.False(Directory.Exists(Path.Combine(cache, "entries")));

        Assert.Equal(0, CliRunner.RunWithCache("merge", plain, temp.Combine("plain"), "--cache-dir", cache, "-q").ExitCode);
        // The flag wins over the recipe, and the cache section is not part of what the merge is: a hit.
        var forced = CliRunner.RunWithCache("merge", off, temp.Combine("forced"), "--cache-dir", cache, "--cache-mode", "read", "-q");
        Assert.Contains("restored from cache (local:", forced.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void Cache_settings_mistakes_are_one_line_errors()
    {
        using var temp = new TempFolder();
        var recipe = RecipeFiles.Write(temp, RecipeFiles.SpecialistsLinear);
        var badMode = CliRunner.RunWithCache("merge", recipe, temp.Combine("out"), "--cache-dir", temp.Combine("c"), "--cache-mode", "sometimes");
        var noFeed = CliRunner.RunWithCache("merge", recipe, temp.Combine("out"), "--cache-dir", temp.Combine("c"), "--publish");
        var unknownFeed = CliRunner.RunWithCache("merge", recipe, temp.Combine("out"), "--cache-dir", temp.Combine("c"), "--feed", "no-such-source");
        var badRecipe = RecipeFiles.Write(temp, RecipeFiles.SpecialistsLinear + "\ncache: {mode: sometimes}\n", "bad.yml");
        var recipeMode = CliRunner.RunWithCache("merge", badRecipe, temp.Combine("out"), "--cache-dir", temp.Combine("c"));
        var badSize = CliRunner.RunWithCache("merge", recipe, temp.Combine("out"), "--cache-dir", temp.Combine("c"), "--cache-max-size", "2G");
        var badVariable = CliRunner.RunWith(name => name == "MERGEBUILD_CACHE_MAX_SIZE" ? "500MB" : null,
            "merge", recipe, temp.Combine("out"), "--cache-dir", temp.Combine("c"));
        var badPrune = CliRunner.RunWithCache("cache", "prune", "--cache-dir", temp.Combine("c"), "--max-size", "1.5b");

        Assert.Matches("^error MB4104: --cache-mode is 'sometimes'", badMode.Error);
        Assert.Matches("^error MB4104: publishing to the cache needs a feed", noFeed.Error);
        Assert.Matches("^error MB4104: the cache feed 'no-such-source' is neither", unknownFeed.Error);
        Assert.Matches(@"bad\.yml\(11,\d+\): error MB2004: unknown cache mode 'sometimes'", recipeMode.Error);
        // Each size names where it came from (they share mergekit's k/m/b parser with --out-shard-size).
        Assert.Matches(@"^error MB5001: Invalid --cache-max-size '2G': .* Write 2B\.", badSize.Error);
        Assert.Matches(@"^error MB5001: Invalid MERGEBUILD_CACHE_MAX_SIZE '500MB': .* Write 500M\.", badVariable.Error);
        Assert.Matches("^error MB5001: Invalid --max-size '1.5b'", badPrune.Error);
        Assert.All(new[] { badMode, noFeed, unknownFeed, recipeMode, badSize, badVariable, badPrune }, r =>
        {
            Assert.Equal(1, r.ExitCode);
            Assert.Single(r.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        });
        Assert.False(Directory.Exists(temp.Combine("out")));
    }

    /// <summary>The weights equal mergekit's output for this recipe (fixtures/expected/merges/linear).</summary>
    private static void AssertIsTheReferenceMerge(string folder)
    {
        var reference = RawSafetensors.ReadFolder(Fixtures.ExpectedMerge("linear"));
        var merged = RawSafetensors.ReadFolder(folder);
        Assert.Equal(reference.Keys.Order(), merged.Keys.Order());
        Assert.All(reference, kv => Assert.Equal(kv.Value.Data, merged[kv.Key].Data));
    }

    private static SortedDictionary<string, string> HashFolder(string folder)
    {
        var result = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var file in Directory.GetFiles(folder, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(folder, file);
            if (relative != ".mergebuild-output")
            {
                result[relative] = Sha256(File.ReadAllBytes(file));
            }
        }

        return result;
    }

    private static string Sha256(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));
}
