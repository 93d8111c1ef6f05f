using System.Security.Cryptography;
using MergeBuild.Tests;

namespace MergeBuild.Tasks.Tests;

/// <summary>End-to-end: two project folders sharing merges through a folder feed, as CI and a teammate would.</summary>
public class CacheBuildTests
{
    private const string Linear = RecipeFiles.TwoModelLinear;

    [Fact]
    public void A_second_project_restores_from_the_feed_what_the_first_built_and_published()
    {
        using var shared = new TempFolder();
        var feed = shared.Combine("feed");
        using var ci = new ConsumerProject(("support", Linear));
        using var teammate = new ConsumerProject(("support", Linear));

        var published = ci.Build("-p:MergeBuildCacheMode=readwrite", $"-p:MergeBuildCacheDir={shared.Combine("ci-cache")}",
            $"-p:MergeBuildCacheFeed={feed}");
        var restored = teammate.Build("-p:MergeBuildCacheMode=read", $"-p:MergeBuildCacheDir={shared.Combine("dev-cache")}",
            $"-p:MergeBuildCacheFeed={feed}");

        Assert.True(published.ExitCode == 0, published.ToString());
        Assert.Contains("support.yml → obj/Debug/net10.0/models/support: linear, 2 models", published.Output, StringComparison.Ordinal);
        Assert.Contains("published to the cache feed", published.Output, StringComparison.Ordinal);
        Assert.True(restored.ExitCode == 0, restored.ToString());
        Assert.Contains($"support.yml → obj/Debug/net10.0/models/support: restored from cache (feed: {feed})", restored.Output,
            StringComparison.Ordinal);
        Assert.DoesNotContain("linear, 2 models", restored.Output, StringComparison.Ordinal);

        var built = Hashes(ci.BinModelFolder("support"));
        Assert.Contains("model.safetensors", built.Keys);
        Assert.Equal(built, Hashes(teammate.BinModelFolder("support")));
    }

    private static SortedDictionary<string, string> Hashes(string folder) =>
        new(Directory.GetFiles(folder, "*", SearchOption.AllDirectories).ToDictionary(
            f => Path.GetRelativePath(folder, f), f => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(f)))),
            StringComparer.Ordinal);
}
