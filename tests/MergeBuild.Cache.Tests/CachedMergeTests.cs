using MergeBuild.Caching;
using MergeBuild.Diagnostics;
using MergeBuild.Tests;
using static MergeBuild.Cache.Tests.CacheTestSupport;

namespace MergeBuild.Cache.Tests;

public class CachedMergeTests
{
    [Fact]
    public void A_second_project_with_an_empty_local_cache_restores_from_the_feed_without_merging()
    {
        using var temp = new TempFolder();
        var feed = temp.Combine("feed");
        var ci = new CacheSettings { Mode = CacheMode.ReadWrite, Directory = temp.Combine("cache-ci"), Feed = feed, PartBytes = 300_000 };
        var first = CachedMerge.Run(ci, Fingerprint('f'), temp.Combine("ci", "model"), () => WriteModel(temp.Combine("ci", "model")), Fail);
        Assert.Equal(ResultOrigin.Merged, first.Origin);
        Assert.True(first.PackagesPublished > 1);

        var teammate = new CacheSettings { Directory = temp.Combine("cache-dev"), Feed = feed };
        var second = CachedMerge.Run(teammate, Fingerprint('f'), temp.Combine("dev", "model"),
            () => throw new InvalidOperationException("the merge must not run"), Fail);

        Assert.Equal(ResultOrigin.Feed, second.Origin);
        Assert.Equal($"restored from cache (feed: {feed})", second.RestoredMessage);
        Assert.Equal(HashFolder(temp.Combine("ci", "model")), HashFolder(temp.Combine("dev", "model")));
        Assert.Equal(0, second.PackagesPublished); // read mode never publishes

        var third = CachedMerge.Run(teammate, Fingerprint('f'), temp.Combine("dev", "again"),
            () => throw new InvalidOperationException("the merge must not run"), Fail);
        Assert.Equal(ResultOrigin.LocalCache, third.Origin);
        Assert.Equal($"restored from cache (local: {temp.Combine("cache-dev")})", third.RestoredMessage);
    }

    [Fact]
    public void A_tampered_local_file_is_reported_and_the_merge_rebuilt_and_stored_again()
    {
        using var temp = new TempFolder();
        var settings = new CacheSettings { Directory = temp.Combine("cache") };
        var merges = 0;
        void Merge(string output)
        {
            merges++;
            WriteModel(output);
        }

        CachedMerge.Run(settings, Fingerprint('e'), temp.Combine("one"), () => Merge(temp.Combine("one")), Fail);
        var local = new LocalCache(settings.Directory);
        var weights = local.Find(Fingerprint('e'))!.Files.Single(f => f.Path == "model.safetensors");
        File.WriteAllBytes(local.BlobPath(weights.Sha256), new byte[weights.Size]); // same size, zeros

        var warnings = new List<CacheWarning>();
        var outcome = CachedMerge.Run(settings, Fingerprint('e'), temp.Combine("two"), () => Merge(temp.Combine("two")), warnings.Add);

        Assert.Equal(ResultOrigin.Merged, outcome.Origin);
        Assert.Equal(2, merges);
        Assert.Contains("model.safetensors", Assert.Single(warnings).Message, StringComparison.Ordinal);
        Assert.Equal(HashFolder(temp.Combine("one")), HashFolder(temp.Combine("two")));
        Assert.True(local.TryRestore(Fingerprint('e'), temp.Combine("three")));
        Assert.Equal(HashFolder(temp.Combine("one")), HashFolder(temp.Combine("three")));
    }

    [Fact]
    public void A_tampered_feed_part_is_reported_and_the_merge_rebuilt()
    {
        using var temp = new TempFolder();
        var feed = temp.Combine("feed");
        var ci = new CacheSettings { Mode = CacheMode.ReadWrite, Directory = temp.Combine("cache-ci"), Feed = feed };
        CachedMerge.Run(ci, Fingerprint('f'), temp.Combine("ci"), () => WriteModel(temp.Combine("ci")), Fail);
        // Overwrite the largest part package's content with another package's: a valid package, the wrong bytes.
        var parts = Directory.GetFiles(feed, "MergeBuild.Blob.*.nupkg").OrderBy(p => new FileInfo(p).Length).ToList();
        File.Copy(parts[0], parts[^1], overwrite: true);

        var merged = false;
        var warnings = new List<CacheWarning>();
        var outcome = CachedMerge.Run(new CacheSettings { Directory = temp.Combine("cache-dev"), Feed = feed },
            Fingerprint('f'), temp.Combine("dev"), () =>
            {
                merged = true;
                WriteModel(temp.Combine("dev"));
            }, warnings.Add);

        Assert.True(merged);
        Assert.Equal(ResultOrigin.Merged, outcome.Origin);
        // The folder feed finds packages by the id inside them, so the overwritten part is simply missing.
        var warning = Assert.Single(warnings);
        Assert.Equal(ErrorCodes.CacheEntryDamaged, warning.Code);
        Assert.Contains(Path.GetFileName(parts[^1])[..^".1.0.0.nupkg".Length], warning.Message, StringComparison.Ordinal);
        Assert.Equal(HashFolder(temp.Combine("ci")), HashFolder(temp.Combine("dev")));
    }

    [Fact]
    public async Task Two_builds_filling_the_same_entry_at_once_both_end_complete_and_merge_once()
    {
        using var temp = new TempFolder();
        var settings = new CacheSettings { Directory = temp.Combine("cache") };
        var merges = 0;
        using var inside = new ManualResetEventSlim();
        using var start = new Barrier(2);

        CachedMergeOutcome Build(string name) => CachedMerge.Run(settings, Fingerprint('c'), temp.Combine(name), () =>
        {
            Interlocked.Increment(ref merges);
            inside.Set();
            Thread.Sleep(500); // hold the entry long enough that the other build must wait for it
            WriteModel(temp.Combine(name));
        }, Fail);

        var a = Task.Run(() =>
        {
            start.SignalAndWait();
            return Build("a");
        });
        var b = Task.Run(() =>
        {
            start.SignalAndWait();
            inside.Wait(); // start while the first build is merging
            return Build("b");
        });
        var outcomes = await Task.WhenAll(a, b);

        Assert.Equal(1, merges);
        Assert.Equal([ResultOrigin.Merged, ResultOrigin.LocalCache], outcomes.Select(o => o.Origin).Order());
        var expected = HashFolder(Fixtures.Model("shipping"));
        foreach (var name in new[] { "a", "b" })
        {
            var files = HashFolder(temp.Combine(name));
            Assert.All(expected, kv => Assert.Equal(kv.Value, files[kv.Key]));
            Assert.Equal(expected.Count + 1, files.Count);
        }
    }

    [Fact]
    public void An_unusable_cache_folder_or_a_busy_entry_is_a_warning_and_the_merge_still_runs()
    {
        using var temp = new TempFolder();
        File.WriteAllText(temp.Combine("not-a-folder"), "");
        var warnings = new List<CacheWarning>();
        var unusable = CachedMerge.Run(new CacheSettings { Directory = temp.Combine("not-a-folder") }, Fingerprint('d'),
            temp.Combine("one"), () => WriteModel(temp.Combine("one")), warnings.Add);

        var settings = new CacheSettings { Directory = temp.Combine("cache"), LockTimeout = TimeSpan.FromMilliseconds(200) };
        using (new LocalCache(settings.Directory).Lock(Fingerprint('b'), TimeSpan.Zero))
        {
            var busy = CachedMerge.Run(settings, Fingerprint('b'), temp.Combine("two"), () => WriteModel(temp.Combine("two")), warnings.Add);
            Assert.Equal(ResultOrigin.Merged, busy.Origin);
        }

        Assert.Equal(ResultOrigin.Merged, unusable.Origin);
        Assert.Equal([ErrorCodes.CacheUnavailable, ErrorCodes.CacheUnavailable], warnings.Select(w => w.Code));
        Assert.Contains("another build held the cache entry", warnings[1].Message, StringComparison.Ordinal);
        Assert.Equal(HashFolder(temp.Combine("one")), HashFolder(temp.Combine("two")));
        Assert.Null(new LocalCache(settings.Directory).Find(Fingerprint('b')));
    }

    [Fact]
    public void An_unreachable_http_feed_is_a_warning_and_the_merge_still_runs()
    {
        using var temp = new TempFolder();
        var warnings = new List<CacheWarning>();
        // Port 9 (discard) on the loopback: nothing listens, the connection is refused at once.
        var outcome = CachedMerge.Run(new CacheSettings { Directory = temp.Combine("cache"), Feed = "http://127.0.0.1:9/v3/index.json" },
            Fingerprint('9'), temp.Combine("out"), () => WriteModel(temp.Combine("out")), warnings.Add);

        Assert.Equal(ResultOrigin.Merged, outcome.Origin);
        Assert.Equal(ErrorCodes.CacheFeedUnavailable, Assert.Single(warnings).Code);
        Assert.Contains("http://127.0.0.1:9/v3/index.json", warnings[0].ToString(), StringComparison.Ordinal);
        Assert.NotNull(new LocalCache(temp.Combine("cache")).Find(Fingerprint('9')));
    }

    [Fact]
    public void Read_write_without_a_feed_is_a_settings_error()
    {
        using var temp = new TempFolder();
        var error = Assert.Throws<MergeBuildException>(() => CachedMerge.Run(
            new CacheSettings { Mode = CacheMode.ReadWrite, Directory = temp.Path }, Fingerprint('x'), temp.Combine("out"),
            () => { }, Fail));
        Assert.Equal(ErrorCodes.CacheSettings, error.Code);
    }

    [Fact]
    public void Off_merges_and_stores_nothing()
    {
        using var temp = new TempFolder();
        var outcome = CachedMerge.Run(new CacheSettings { Mode = CacheMode.Off, Directory = temp.Combine("cache") },
            Fingerprint('o'), temp.Combine("out"), () => WriteModel(temp.Combine("out")), Fail);

        Assert.Equal(ResultOrigin.Merged, outcome.Origin);
        Assert.False(Directory.Exists(temp.Combine("cache")));
    }

    private static void Fail(CacheWarning warning) => Assert.Fail("unexpected warning: " + warning);
}
