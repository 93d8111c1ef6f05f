using System.IO.Compression;
using MergeBuild.Caching;
using MergeBuild.Diagnostics;
using MergeBuild.Tests;
using static MergeBuild.Cache.Tests.CacheTestSupport;

namespace MergeBuild.Cache.Tests;

/// <summary>NuGet feeds as a remote cache, with temporary folder feeds (no network).</summary>
public class FeedCacheTests
{
    private const long TinyParts = 100_000; // the 1.6 MB fixture weights become 17 parts

    [Fact]
    public async Task A_published_merge_restores_into_an_empty_local_cache_byte_identical()
    {
        using var temp = new TempFolder();
        WriteModel(temp.Combine("merged"));
        var first = new LocalCache(temp.Combine("cache-a"));
        var entry = first.Store(Fingerprint('a'), temp.Combine("merged"));
        var feed = new FeedCache(FeedSource.Resolve(temp.Combine("feed"), temp.Path), TinyParts);

        var pushed = await feed.PublishAsync(entry, first, CancellationToken.None);

        var weights = new FileInfo(temp.Combine("merged", "model.safetensors")).Length;
        var packages = Directory.GetFiles(temp.Combine("feed"), "*.nupkg", SearchOption.AllDirectories);
        Assert.Equal(packages.Length, pushed);
        Assert.Equal((int)((weights + TinyParts - 1) / TinyParts), packages.Count(p => Path.GetFileName(p).StartsWith("MergeBuild.Blob.", StringComparison.OrdinalIgnoreCase)) - 6);
        Assert.Single(packages, p => Path.GetFileName(p).StartsWith("MergeBuild.Merge.", StringComparison.OrdinalIgnoreCase));
        Assert.All(packages, p => Assert.True(new FileInfo(p).Length < TinyParts + 4096, $"{p} exceeds the part size"));

        var second = new LocalCache(temp.Combine("cache-b"));
        var warnings = new List<CacheWarning>();
        var fromFeed = await feed.TryRestoreAsync(Fingerprint('a'), second, warnings.Add, CancellationToken.None);
        Assert.Empty(warnings);
        Assert.True(fromFeed);
        Assert.True(second.TryRestore(Fingerprint('a'), temp.Combine("restored"), warnings.Add));

        Assert.Equal(HashFolder(temp.Combine("merged")), HashFolder(temp.Combine("restored")));
        Assert.Equal(0, await feed.PublishAsync(entry, first, CancellationToken.None));
    }

    [Fact]
    public async Task A_merge_the_feed_lacks_is_a_miss_without_warnings()
    {
        using var temp = new TempFolder();
        var feed = new FeedCache(FeedSource.Resolve(temp.Combine("no-feed-yet"), temp.Path));
        var warnings = new List<CacheWarning>();

        Assert.False(await feed.TryRestoreAsync(Fingerprint('a'), new LocalCache(temp.Combine("cache")), warnings.Add,
            CancellationToken.None));
        Assert.Empty(warnings);
    }

    [Fact]
    public async Task Parts_shared_by_two_merges_are_pushed_once()
    {
        using var temp = new TempFolder();
        WriteModel(temp.Combine("one"), "shipping");
        WriteModel(temp.Combine("two"), "refunds");
        var local = new LocalCache(temp.Combine("cache"));
        var feed = new FeedCache(FeedSource.Resolve(temp.Combine("feed"), temp.Path), TinyParts);

        var first = await feed.PublishAsync(local.Store(Fingerprint('1'), temp.Combine("one")), local, CancellationToken.None);
        var second = await feed.PublishAsync(local.Store(Fingerprint('2'), temp.Combine("two")), local, CancellationToken.None);

        // The second merge shares config, tokenizer and generation files: only its weights, notes and manifest are new.
        var weightParts = (int)((new FileInfo(temp.Combine("two", "model.safetensors")).Length + TinyParts - 1) / TinyParts);
        Assert.Equal(weightParts + 2, second);
        Assert.True(first > second);
        Assert.Equal(first + second, Directory.GetFiles(temp.Combine("feed"), "*.nupkg").Length);
    }

    [Fact]
    public async Task A_tampered_part_in_the_feed_is_reported_and_nothing_is_restored()
    {
        using var temp = new TempFolder();
        var (feed, entry) = await Publish(temp);
        var weights = entry.Files.Single(f => f.Path == "model.safetensors");
        var victim = Directory.GetFiles(temp.Combine("feed"), "MergeBuild.Blob.*.nupkg")
            .First(p => RewritePart(p, bytes => bytes[^1] ^= 0x01));

        var local = new LocalCache(temp.Combine("cache-b"));
        var warnings = new List<CacheWarning>();
        var restored = await feed.TryRestoreAsync(Fingerprint('a'), local, warnings.Add, CancellationToken.None);

        Assert.False(restored);
        var warning = Assert.Single(warnings);
        Assert.Equal(ErrorCodes.CacheEntryDamaged, warning.Code);
        Assert.Contains("does not match its hash", warning.Message, StringComparison.Ordinal);
        Assert.Contains(Path.GetFileName(victim).Split('.')[2], warning.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Null(local.Find(Fingerprint('a')));
        Assert.False(local.HasBlob(weights.Sha256, weights.Size) && entry.Files.All(f => local.HasBlob(f.Sha256, f.Size)));
    }

    [Fact]
    public async Task A_manifest_package_naming_paths_outside_the_folder_is_rejected()
    {
        using var temp = new TempFolder();
        var (feed, _) = await Publish(temp);
        var manifestPackage = Directory.GetFiles(temp.Combine("feed"), "MergeBuild.Merge.*.nupkg").Single();
        RewriteEntry(manifestPackage, "mergebuild/manifest.json",
            json => json.Replace("\"extra/notes.txt\"", "\"../../../escaped.txt\"", StringComparison.Ordinal));

        var local = new LocalCache(temp.Combine("cache-b"));
        var warnings = new List<CacheWarning>();
        Assert.False(await feed.TryRestoreAsync(Fingerprint('a'), local, warnings.Add, CancellationToken.None));

        var warning = Assert.Single(warnings);
        Assert.Equal(ErrorCodes.CachePackageRejected, warning.Code);
        Assert.Contains("../../../escaped.txt", warning.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(temp.Path, "escaped.txt", SearchOption.AllDirectories));
        Assert.Null(local.Find(Fingerprint('a')));
    }

    [Fact]
    public async Task A_part_package_with_an_entry_outside_the_package_is_rejected()
    {
        using var temp = new TempFolder();
        var (feed, _) = await Publish(temp);
        foreach (var package in Directory.GetFiles(temp.Combine("feed"), "MergeBuild.Blob.*.nupkg"))
        {
            using var zip = ZipFile.Open(package, ZipArchiveMode.Update);
            using var writer = new StreamWriter(zip.CreateEntry("../../escaped.txt").Open());
            writer.Write("escaped");
        }

        var warnings = new List<CacheWarning>();
        Assert.False(await feed.TryRestoreAsync(Fingerprint('a'), new LocalCache(temp.Combine("cache-b")), warnings.Add,
            CancellationToken.None));

        var warning = Assert.Single(warnings);
        Assert.Equal(ErrorCodes.CachePackageRejected, warning.Code);
        Assert.Contains("../../escaped.txt", warning.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(temp.Path, "escaped.txt", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task A_damaged_local_blob_is_not_published()
    {
        using var temp = new TempFolder();
        WriteModel(temp.Combine("merged"));
        var local = new LocalCache(temp.Combine("cache"));
        var entry = local.Store(Fingerprint('a'), temp.Combine("merged"));
        var weights = local.BlobPath(entry.Files.Single(f => f.Path == "model.safetensors").Sha256);
        var bytes = File.ReadAllBytes(weights);
        bytes[100] ^= 0x01;
        File.WriteAllBytes(weights, bytes);
        var feed = new FeedCache(FeedSource.Resolve(temp.Combine("feed"), temp.Path), TinyParts);

        var error = await Assert.ThrowsAsync<MergeBuildException>(() => feed.PublishAsync(entry, local, CancellationToken.None));

        Assert.Equal(ErrorCodes.CacheEntryDamaged, error.Code);
        Assert.Empty(Directory.GetFiles(temp.Combine("feed"), "MergeBuild.Merge.*"));
    }

    [Fact]
    public void A_feed_name_from_nuget_config_resolves_to_its_folder()
    {
        using var temp = new TempFolder();
        File.WriteAllText(temp.Combine("nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <add key="team-cache" value="{temp.Combine("shared-feed")}" />
              </packageSources>
            </configuration>
            """);

        var feed = FeedSource.Resolve("team-cache", temp.Path);

        Assert.True(feed.IsFolder);
        Assert.Equal(temp.Combine("shared-feed"), feed.Source.Source);
        Assert.Null(feed.ApiKey());
        var error = Assert.Throws<MergeBuildException>(() => FeedSource.Resolve("no-such-source", temp.Path));
        Assert.Equal(ErrorCodes.CacheSettings, error.Code);
    }

    private static async Task<(FeedCache Feed, CacheManifest Entry)> Publish(TempFolder temp)
    {
        WriteModel(temp.Combine("merged"));
        var local = new LocalCache(temp.Combine("cache-a"));
        var entry = local.Store(Fingerprint('a'), temp.Combine("merged"));
        var feed = new FeedCache(FeedSource.Resolve(temp.Combine("feed"), temp.Path), TinyParts);
        await feed.PublishAsync(entry, local, CancellationToken.None);
        return (feed, entry);
    }

    /// <summary>Changes the part inside a package (same length), as someone with write access to the feed could.</summary>
    private static bool RewritePart(string package, Action<byte[]> change)
    {
        using var zip = ZipFile.Open(package, ZipArchiveMode.Update);
        var entry = zip.GetEntry("mergebuild/part.bin")!;
        byte[] bytes;
        using (var stream = entry.Open())
        using (var copy = new MemoryStream())
        {
            stream.CopyTo(copy);
            bytes = copy.ToArray();
        }

        if (bytes.Length == 0)
        {
            return false;
        }

        change(bytes);
        entry.Delete();
        using (var stream = zip.CreateEntry("mergebuild/part.bin").Open())
        {
            stream.Write(bytes);
        }

        return true;
    }

    private static void RewriteEntry(string package, string name, Func<string, string> change)
    {
        using var zip = ZipFile.Open(package, ZipArchiveMode.Update);
        var entry = zip.GetEntry(name)!;
        string text;
        using (var reader = new StreamReader(entry.Open()))
        {
            text = reader.ReadToEnd();
        }

        entry.Delete();
        using var writer = new StreamWriter(zip.CreateEntry(name).Open());
        writer.Write(change(text));
    }
}
