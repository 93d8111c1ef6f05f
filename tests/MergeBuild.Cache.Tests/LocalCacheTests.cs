using MergeBuild.Caching;
using MergeBuild.Diagnostics;
using MergeBuild.Execution;
using MergeBuild.Tests;
using static MergeBuild.Cache.Tests.CacheTestSupport;

namespace MergeBuild.Cache.Tests;

public class LocalCacheTests
{
    [Fact]
    public void A_stored_folder_restores_byte_identical_with_its_marker()
    {
        using var temp = new TempFolder();
        WriteModel(temp.Combine("merged"));
        var cache = new LocalCache(temp.Combine("cache"));

        var manifest = cache.Store(Fingerprint('a'), temp.Combine("merged"));
        var restored = cache.TryRestore(Fingerprint('a'), temp.Combine("restored"));

        Assert.True(restored);
        var expected = HashFolder(temp.Combine("merged"));
        Assert.Equal(expected, HashFolder(temp.Combine("restored")));
        Assert.Equal(7, expected.Count); // six fixture files and extra/notes.txt
        Assert.Equal(expected, manifest.Files.ToDictionary(f => f.Path, f => f.Sha256));
        Assert.True(File.Exists(temp.Combine("restored", AtomicOutputFolder.MarkerFileName)));
        Assert.False(cache.TryRestore(Fingerprint('b'), temp.Combine("other")));
        Assert.False(Directory.Exists(temp.Combine("other")));
    }

    [Fact]
    public void Identical_files_of_two_merges_are_stored_once()
    {
        using var temp = new TempFolder();
        WriteModel(temp.Combine("one"), "shipping");
        WriteModel(temp.Combine("two"), "refunds");
        var cache = new LocalCache(temp.Combine("cache"));

        cache.Store(Fingerprint('1'), temp.Combine("one"));
        cache.Store(Fingerprint('2'), temp.Combine("two"));

        // The fixtures share tokenizer and generation files; their weights, configs and notes differ.
        var distinct = HashFolder(temp.Combine("one")).Values.Concat(HashFolder(temp.Combine("two")).Values).Distinct().Count();
        Assert.Equal(distinct, Directory.GetFiles(temp.Combine("cache", "blobs"), "*", SearchOption.AllDirectories).Length);
        Assert.True(distinct < 14);
    }

    [Fact]
    public void A_tampered_blob_is_reported_removed_and_not_restored()
    {
        using var temp = new TempFolder();
        WriteModel(temp.Combine("merged"));
        var cache = new LocalCache(temp.Combine("cache"));
        var manifest = cache.Store(Fingerprint('a'), temp.Combine("merged"));
        var weights = manifest.Files.Single(f => f.Path == "model.safetensors");
        var blob = cache.BlobPath(weights.Sha256);
        var bytes = File.ReadAllBytes(blob);
        bytes[^10] ^= 0xFF; // same size, one byte different
        File.WriteAllBytes(blob, bytes);

        var warnings = new List<CacheWarning>();
        var restored = cache.TryRestore(Fingerprint('a'), temp.Combine("restored"), warnings.Add);

        Assert.False(restored);
        var warning = Assert.Single(warnings);
        Assert.Equal(ErrorCodes.CacheEntryDamaged, warning.Code);
        Assert.Contains("model.safetensors", warning.Message, StringComparison.Ordinal);
        Assert.Contains(weights.Sha256, warning.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(blob));
        Assert.Null(cache.Find(Fingerprint('a')));
        Assert.False(Directory.Exists(temp.Combine("restored")));
    }

    [Fact]
    public void An_entry_whose_paths_leave_the_folder_is_rejected_and_nothing_is_written_outside()
    {
        using var temp = new TempFolder();
        var cache = new LocalCache(temp.Combine("cache"));
        var blobSource = temp.Combine("evil.txt");
        File.WriteAllText(blobSource, "escaped");
        var sha = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(blobSource)));
        cache.AddBlob(blobSource, sha);
        Directory.CreateDirectory(temp.Combine("cache", "entries"));
        File.WriteAllText(cache.EntryPath(Fingerprint('c')), $$"""
            {"format": 1, "fingerprint": "{{Fingerprint('c')}}",
             "files": [{"path": "../../escaped.txt", "size": 7, "sha256": "{{sha}}"}]}
            """);

        var warnings = new List<CacheWarning>();
        Assert.False(cache.TryRestore(Fingerprint('c'), temp.Combine("out", "model"), warnings.Add));

        Assert.Equal(ErrorCodes.CacheEntryDamaged, Assert.Single(warnings).Code);
        Assert.Contains("../../escaped.txt", warnings[0].Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(temp.Path, "escaped.txt", SearchOption.AllDirectories));
        Assert.False(File.Exists(cache.EntryPath(Fingerprint('c'))));
    }

    [Theory]
    [InlineData("../x")]
    [InlineData("a/../../x")]
    [InlineData("/etc/passwd")]
    [InlineData("C:/x")]
    [InlineData("a\\..\\x")]
    [InlineData("a//b")]
    [InlineData("./a")]
    [InlineData("")]
    [InlineData(".mergebuild-output")]
    public void Unsafe_manifest_paths_are_refused(string path)
    {
        Assert.NotNull(CachePaths.Problem(path));
        Assert.Throws<MergeBuildException>(() => CachePaths.Resolve(Path.GetTempPath(), path, "test"));
    }

    [Theory]
    [InlineData("model.safetensors")]
    [InlineData("sub/dir/file.json")]
    [InlineData("..hidden")]
    public void Plain_relative_paths_are_accepted(string path) => Assert.Null(CachePaths.Problem(path));

    [Fact]
    public void Prune_evicts_the_least_recently_used_entries_first_and_their_unshared_blobs()
    {
        using var temp = new TempFolder();
        var clock = new ManualClock();
        var cache = new LocalCache(temp.Combine("cache"), clock);
        var fixtures = new[] { "shipping", "refunds", "catalog" };
        for (var i = 0; i < fixtures.Length; i++)
        {
            WriteModel(temp.Combine(fixtures[i]), fixtures[i]);
            clock.Now = clock.Now.AddMinutes(1);
            cache.Store(Fingerprint((char)('1' + i)), temp.Combine(fixtures[i]));
        }

        // Use the oldest entry again: the middle one (refunds) is now the least recently used.
        clock.Now = clock.Now.AddMinutes(1);
        Assert.True(cache.TryRestore(Fingerprint('1'), temp.Combine("again")));
        Assert.Equal([Fingerprint('2'), Fingerprint('3'), Fingerprint('1')],
            cache.Entries().Select(e => e.Manifest.Fingerprint));

        // A limit that fits two of the three merges (their shared files counted once).
        var total = cache.BlobBytes();
        var refundsOnly = HashFolder(temp.Combine("refunds"))
            .Where(kv => !HashFolder(temp.Combine("shipping")).ContainsValue(kv.Value) &&
                         !HashFolder(temp.Combine("catalog")).ContainsValue(kv.Value))
            .Sum(kv => new FileInfo(temp.Combine("refunds", kv.Key)).Length);
        var report = cache.Prune(total - refundsOnly);

        Assert.Equal([Fingerprint('2')], report.Evicted);
        Assert.Equal(refundsOnly, report.FreedBytes);
        Assert.Equal(total - refundsOnly, cache.BlobBytes());
        Assert.True(cache.TryRestore(Fingerprint('1'), temp.Combine("one")));
        Assert.True(cache.TryRestore(Fingerprint('3'), temp.Combine("three")));
        Assert.Equal(HashFolder(temp.Combine("catalog")), HashFolder(temp.Combine("three")));
        Assert.Null(cache.Find(Fingerprint('2')));
    }

    [Fact]
    public void Prune_keeps_young_orphan_blobs_and_deletes_old_ones()
    {
        using var temp = new TempFolder();
        var clock = new ManualClock { Now = DateTimeOffset.UtcNow };
        var cache = new LocalCache(temp.Combine("cache"), clock);
        var orphan = temp.Combine("orphan");
        File.WriteAllText(orphan, "no entry needs me");
        var sha = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(orphan)));
        cache.AddBlob(orphan, sha);

        cache.Prune(long.MaxValue);
        Assert.True(File.Exists(cache.BlobPath(sha)));

        clock.Now += LocalCache.OrphanGrace + TimeSpan.FromMinutes(1);
        var report = cache.Prune(long.MaxValue);
        Assert.False(File.Exists(cache.BlobPath(sha)));
        Assert.Equal("no entry needs me".Length, report.FreedBytes);
    }

    [Fact]
    public void Verify_finds_a_damaged_blob_and_removes_the_entries_that_need_it()
    {
        using var temp = new TempFolder();
        WriteModel(temp.Combine("one"), "shipping");
        WriteModel(temp.Combine("two"), "refunds");
        var cache = new LocalCache(temp.Combine("cache"));
        var one = cache.Store(Fingerprint('1'), temp.Combine("one"));
        cache.Store(Fingerprint('2'), temp.Combine("two"));
        File.AppendAllText(cache.BlobPath(one.Files.Single(f => f.Path == "model.safetensors").Sha256), " ");

        var warnings = new List<CacheWarning>();
        var report = cache.Verify(warnings.Add);

        Assert.Equal(new VerifyReport(1, 1, 1), report);
        Assert.Equal(2, warnings.Count);
        Assert.Null(cache.Find(Fingerprint('1')));
        Assert.True(cache.TryRestore(Fingerprint('2'), temp.Combine("restored")));
    }

    [Fact]
    public void A_second_holder_waits_for_the_entry_lock_and_gives_up_after_its_timeout()
    {
        using var temp = new TempFolder();
        var cache = new LocalCache(temp.Combine("cache"));
        using (var first = cache.Lock(Fingerprint('a'), TimeSpan.Zero))
        {
            Assert.NotNull(first);
            var started = DateTime.UtcNow;
            Assert.Null(cache.Lock(Fingerprint('a'), TimeSpan.FromMilliseconds(300)));
            Assert.True(DateTime.UtcNow - started >= TimeSpan.FromMilliseconds(250));
            using var other = cache.Lock(Fingerprint('b'), TimeSpan.Zero);
            Assert.NotNull(other);
        }

        using var again = cache.Lock(Fingerprint('a'), TimeSpan.Zero);
        Assert.NotNull(again);
    }

    [Fact]
    public void Weight_shards_are_stored_as_links_small_files_as_copies_and_an_in_place_edit_is_caught_on_restore()
    {
        using var temp = new TempFolder();
        var merged = temp.Combine("merged");
        Directory.CreateDirectory(merged);
        var shard = Path.Combine(merged, "model.safetensors");
        var bytes = new byte[LocalCache.LinkMinimumBytes];
        new Random(7).NextBytes(bytes);
        File.WriteAllBytes(shard, bytes);
        File.WriteAllText(Path.Combine(merged, "config.json"), "{\"a\": 1}");
        var cache = new LocalCache(temp.Combine("cache"));
        cache.Store(Fingerprint('a'), merged);

        // A small file is a copy: editing the output in place leaves the cache intact.
        OverwriteInPlace(Path.Combine(merged, "config.json"), 6, (byte)'2');
        Assert.True(cache.TryRestore(Fingerprint('a'), temp.Combine("restored")));
        Assert.Equal("{\"a\": 1}", File.ReadAllText(temp.Combine("restored", "config.json")));
        Assert.Equal(bytes, File.ReadAllBytes(temp.Combine("restored", "model.safetensors")));

        // The shard is the same file as its blob (no second copy was written), so an in-place edit reaches the blob:
        // the restore re-hashes it, reports it and restores nothing.
        OverwriteInPlace(shard, 1000, (byte)(bytes[1000] ^ 0xFF));
        var warnings = new List<CacheWarning>();
        Assert.False(cache.TryRestore(Fingerprint('a'), temp.Combine("again"), warnings.Add));
        var warning = Assert.Single(warnings);
        Assert.Equal(ErrorCodes.CacheEntryDamaged, warning.Code);
        Assert.Contains("model.safetensors", warning.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(temp.Combine("again")));
    }

    private static void OverwriteInPlace(string file, long position, byte value)
    {
        using var stream = new FileStream(file, FileMode.Open, FileAccess.Write, FileShare.ReadWrite);
        stream.Position = position;
        stream.WriteByte(value);
    }
}

