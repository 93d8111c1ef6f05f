using System.Security.Cryptography;
using MergeBuild.Execution;
using MergeBuild.Tests;

namespace MergeBuild.Cache.Tests;

/// <summary>Helpers shared by the cache tests: model folders to cache and an independent way to compare them.</summary>
internal static class CacheTestSupport
{
    /// <summary>
    /// SHA-256 of every file under <paramref name="folder"/> (relative path → hash), computed here with the framework's
    /// one-shot API rather than the cache's own hashing code; the output marker is left out.
    /// </summary>
    public static SortedDictionary<string, string> HashFolder(string folder)
    {
        var result = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var file in Directory.GetFiles(folder, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(folder, file).Replace('\\', '/');
            if (relative != AtomicOutputFolder.MarkerFileName)
            {
                result[relative] = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(file)));
            }
        }

        return result;
    }

    /// <summary>A stand-in for a merge: writes a fixture model's files (and a nested file) to <paramref name="output"/>.</summary>
    public static void WriteModel(string output, string fixture = "shipping")
    {
        using var folder = AtomicOutputFolder.Begin(output);
        foreach (var file in Directory.GetFiles(Fixtures.Model(fixture)))
        {
            File.Copy(file, folder.PathOf(Path.GetFileName(file)));
        }

        Directory.CreateDirectory(folder.PathOf("extra"));
        File.WriteAllText(folder.PathOf(Path.Combine("extra", "notes.txt")), "from " + fixture);
        folder.Commit("{}");
    }

    public static string Fingerprint(char digit) => new(digit, 32);

    /// <summary>A clock the test moves by hand, for least-recently-used order.</summary>
    public sealed class ManualClock : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

        public override DateTimeOffset GetUtcNow() => Now;
    }
}
