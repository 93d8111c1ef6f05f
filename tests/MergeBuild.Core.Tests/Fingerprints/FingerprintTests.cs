using MergeBuild.Fingerprints;
using MergeBuild.Recipes;
using MergeBuild.Tests;

namespace MergeBuild.Core.Tests.Fingerprints;

public class FingerprintTests
{
    private const string Recipe = RecipeFiles.TwoModelLinear;

    private static MergeFingerprint Of(TempFolder temp, string yaml, ContentHashCache? cache = null,
        FingerprintOptions? options = null) =>
        MergeFingerprint.Compute(RecipeParser.ParseFile(RecipeFiles.Write(temp, yaml)), options ?? new FingerprintOptions(),
            cache ?? new ContentHashCache());

    [Fact]
    public void Formatting_and_comments_do_not_change_the_fingerprint_but_values_do()
    {
        using var temp = new TempFolder();
        var original = Of(temp, Recipe);
        var reformatted = Of(temp, "# my favourite merge\n" + Recipe.Replace("{weight: 1.0}", "\n      weight: 1.0",
            StringComparison.Ordinal));
        var changed = Of(temp, Recipe.Replace("weight: 1.0}", "weight: 0.9}", StringComparison.Ordinal));
        Assert.Equal(original.Value, reformatted.Value);
        Assert.NotEqual(original.Value, changed.Value);
        Assert.Matches("^[0-9a-f]{32}$", original.Value);
    }

    [Fact]
    public void The_top_level_cache_section_does_not_change_the_fingerprint_but_a_nested_cache_key_does()
    {
        using var temp = new TempFolder();
        var original = Of(temp, Recipe);
        var withCache = Of(temp, Recipe + "\ncache: {mode: off, feed: ./feed}\n");

        Assert.Equal(original.Value, withCache.Value);
        Assert.Equal(CanonicalRecipe.Of("a: 1\n"), CanonicalRecipe.Of("cache: {mode: read}\na: 1\n"));
        Assert.NotEqual(CanonicalRecipe.Of("a: 1\n"), CanonicalRecipe.Of("a: {cache: 1}\n"));
    }

    [Fact]
    public void Result_changing_options_change_the_fingerprint()
    {
        using var temp = new TempFolder();
        var a = Of(temp, Recipe);
        Assert.NotEqual(a.Value, Of(temp, Recipe, options: new FingerprintOptions { Seed = 7 }).Value);
        Assert.NotEqual(a.Value, Of(temp, Recipe, options: new FingerprintOptions { MaxShardBytes = 1000 }).Value);
        Assert.Equal(a.Value, Of(temp, Recipe, options: new FingerprintOptions()).Value);
    }

    [Fact]
    public void Input_content_is_hashed_once_and_remembered_by_size_and_timestamp()
    {
        using var temp = new TempFolder();
        var model = temp.Combine("model");
        Directory.CreateDirectory(model);
        foreach (var file in Directory.GetFiles(Fixtures.Model("shipping")))
        {
            File.Copy(file, Path.Combine(model, Path.GetFileName(file)));
        }

        var yaml = "merge_method: passthrough\nmodels:\n  - model: model\n";
        var cache = new ContentHashCache();
        var first = Of(temp, yaml, cache);
        var hashed = cache.Misses;
        Assert.Equal(first.Value, Of(temp, yaml, cache).Value);
        Assert.Equal(hashed, cache.Misses);

        // Saved and loaded: still remembered.
        cache.Save(temp.Combine("hashes.tsv"));
        var loaded = ContentHashCache.Load(temp.Combine("hashes.tsv"));
        Assert.Equal(first.Value, Of(temp, yaml, loaded).Value);
        Assert.Equal(0, loaded.Misses);

        // Touched: hashed again, same fingerprint.
        var weights = Path.Combine(model, "model.safetensors");
        File.SetLastWriteTimeUtc(weights, DateTime.UtcNow.AddMinutes(5));
        Assert.Equal(first.Value, Of(temp, yaml, loaded).Value);
        Assert.Equal(1, loaded.Misses);

        // One byte changed: a different fingerprint.
        var bytes = File.ReadAllBytes(weights);
        bytes[^1] ^= 1;
        File.WriteAllBytes(weights, bytes);
        Assert.NotEqual(first.Value, Of(temp, yaml, loaded).Value);
    }
}
