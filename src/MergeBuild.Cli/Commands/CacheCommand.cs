using System.CommandLine;
using System.Globalization;
using MergeBuild.Caching;

namespace MergeBuild.Cli.Commands;

/// <summary><c>mergebuild cache list|verify|prune</c>: look after the local merge cache.</summary>
internal static class CacheCommand
{
    public static Command Create(MergeBuildCli cli)
    {
        var directory = new Option<string?>("--cache-dir")
        {
            Description = "The local merge cache (default: $MERGEBUILD_CACHE, else the user's cache folder).",
            Recursive = true,
        };
        var maxSize = new Option<string?>("--max-size")
        {
            Description = "Evict least recently used merges until the cache is at most this size (k/m/b suffixes; default 50B).",
        };

        var list = new Command("list", "List cached merges, least recently used first.");
        list.SetAction((parse, _) => Task.FromResult(cli.Guard(() =>
        {
            var cache = Open(cli, parse.GetValue(directory));
            var entries = cache.Entries();
            foreach (var entry in entries)
            {
                cli.Output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{entry.Manifest.Fingerprint}  {entry.Manifest.Files.Count,3} files  {Formatting.Bytes(entry.Manifest.TotalBytes),10}  last used {entry.LastUsedUtc:yyyy-MM-dd HH:mm:ss}Z"));
            }

            cli.Output.WriteLine($"{Merges(entries.Count)}, {Formatting.Bytes(cache.BlobBytes())} in {cache.Root}");
            return 0;
        })));

        var verify = new Command("verify", "Re-hash every cached file; remove damaged files and the merges that need them.");
        verify.SetAction((parse, _) => Task.FromResult(cli.Guard(() =>
        {
            var cache = Open(cli, parse.GetValue(directory));
            var report = cache.Verify(warning => cli.Error.WriteLine(warning.ToString()));
            cli.Output.WriteLine($"{Merges(report.GoodEntries)} verified, {report.RemovedEntries} removed, " +
                                 $"{report.DamagedBlobs} damaged files deleted ({cache.Root})");
            return report.RemovedEntries == 0 && report.DamagedBlobs == 0 ? 0 : MergeBuildCli.UserError;
        })));

        var prune = new Command("prune", "Evict least recently used merges beyond the size limit and delete unused files.")
        {
            maxSize,
        };
        prune.SetAction((parse, _) => Task.FromResult(cli.Guard(() =>
        {
            var cache = Open(cli, parse.GetValue(directory));
            var limit = CacheOptions.MaxBytes(parse.GetValue(maxSize), "--max-size", cli.Environment);
            var report = cache.Prune(limit);
            foreach (var fingerprint in report.Evicted)
            {
                cli.Output.WriteLine($"evicted {fingerprint}");
            }

            cli.Output.WriteLine($"{Merges(report.Evicted.Count)} evicted, {Formatting.Bytes(report.FreedBytes)} freed, " +
                                 $"{Formatting.Bytes(report.RemainingBytes)} left ({cache.Root})");
            return 0;
        })));

        return new Command("cache", "Manage the local merge cache.") { directory, list, verify, prune };
    }

    private static string Merges(int count) => count == 1 ? "1 merge" : $"{count} merges";

    private static LocalCache Open(MergeBuildCli cli, string? directory) =>
        new(directory is not null ? Path.GetFullPath(directory) : CacheLocation.Default(cli.Environment));
}
