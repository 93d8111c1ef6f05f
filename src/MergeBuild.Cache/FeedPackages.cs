using System.IO.Compression;
using MergeBuild.Diagnostics;
using NuGet.Packaging;
using NuGet.Versioning;

namespace MergeBuild.Caching;

/// <summary>
/// The two kinds of packages a merge is stored as on a NuGet feed, and how they are built and read:
/// <c>MergeBuild.Merge.&lt;fingerprint&gt;</c> holds only <c>mergebuild/manifest.json</c> (the files, their SHA-256 and
/// parts); <c>MergeBuild.Blob.&lt;sha256&gt;</c> holds one part, <c>mergebuild/part.bin</c>, of at most the part size.
/// Parts are named by their content, so a part shared by two merges (an unchanged tokenizer, a repeated shard) is
/// pushed once. Reading accepts only those entry paths and refuses any package with an entry outside the package.
/// </summary>
public static class FeedPackages
{
    public const string ManifestEntry = "mergebuild/manifest.json";
    public const string PartEntry = "mergebuild/part.bin";

    /// <summary>Feeds accept packages only below a size limit (nuget.org 250 MB); parts stay below it.</summary>
    public const long DefaultPartBytes = 200_000_000;

    public static readonly NuGetVersion Version = new(1, 0, 0);

    public static string ManifestId(string fingerprint) => "MergeBuild.Merge." + fingerprint;

    public static string BlobId(string sha256) => "MergeBuild.Blob." + sha256;

    /// <summary>
    /// Writes a package holding <paramref name="contentFile"/> as <paramref name="entry"/>. NuGet's builder writes the
    /// package's own parts (nuspec, OPC files) around an empty placeholder; the content is then stored uncompressed,
    /// since weights barely compress and Deflate made publishing several times slower than copying.
    /// </summary>
    public static void Build(string id, string description, string contentFile, string entry, string nupkgPath)
    {
        var placeholder = nupkgPath + ".empty";
        File.WriteAllBytes(placeholder, []);
        using var skeleton = new MemoryStream();
        try
        {
            var builder = new PackageBuilder
            {
                Id = id,
                Version = Version,
                Description = description,
            };
            builder.Authors.Add("MergeBuild");
            builder.Tags.Add("mergebuild-cache");
            builder.Files.Add(new PhysicalPackageFile { SourcePath = placeholder, TargetPath = entry });
            builder.Save(skeleton);
        }
        finally
        {
            File.Delete(placeholder);
        }

        skeleton.Position = 0;
        using var source = new ZipArchive(skeleton, ZipArchiveMode.Read);
        using var target = new ZipArchive(new FileStream(nupkgPath, FileMode.CreateNew, FileAccess.Write, FileShare.None),
            ZipArchiveMode.Create);
        foreach (var part in source.Entries)
        {
            var isContent = part.FullName == entry;
            var copy = target.CreateEntry(part.FullName, isContent ? CompressionLevel.NoCompression : CompressionLevel.Optimal);
            copy.LastWriteTime = part.LastWriteTime;
            using var output = copy.Open();
            using var input = isContent ? File.OpenRead(contentFile) : part.Open();
            input.CopyTo(output);
        }
    }

    /// <summary>
    /// Opens a downloaded package and returns the stream of <paramref name="entry"/>, after checking that no entry of
    /// the package has a path that is absolute or climbs out with <c>..</c>.
    /// </summary>
    public static Stream OpenEntry(PackageArchiveReader reader, string entry, string origin)
    {
        ArgumentNullException.ThrowIfNull(reader);
        var files = reader.GetFiles().ToList();
        if (files.FirstOrDefault(f => f.Contains("..", StringComparison.Ordinal) || f.StartsWith('/') ||
                                      f.StartsWith('\\') || f.Contains(':', StringComparison.Ordinal)) is { } bad)
        {
            throw new MergeBuildException(ErrorCodes.CachePackageRejected,
                $"the feed package {origin} has the entry '{bad}', which points outside the package; it was rejected.",
                new SourceLocation(origin), "Delete the package from the feed; MergeBuild never writes such entries.");
        }

        if (!files.Contains(entry, StringComparer.Ordinal))
        {
            throw new MergeBuildException(ErrorCodes.CachePackageRejected,
                $"the feed package {origin} lacks '{entry}'; it was rejected.", new SourceLocation(origin),
                "Delete the package from the feed; it was not written by MergeBuild.");
        }

        return reader.GetStream(entry);
    }
}
