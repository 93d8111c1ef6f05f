using System.Text.Json;
using System.Text.Json.Serialization;
using MergeBuild.Diagnostics;

namespace MergeBuild.Caching;

/// <summary>One bounded-size piece of a file as a feed stores it (its own content-addressed package).</summary>
public sealed record FilePart(
    [property: JsonPropertyName("sha256")] string Sha256,
    [property: JsonPropertyName("size")] long Size);

/// <summary>One file of a cached model folder: where it goes, how long it is and what its bytes hash to.</summary>
public sealed record CachedFile(
    [property: JsonPropertyName("path")] string Path,
    [property: JsonPropertyName("size")] long Size,
    [property: JsonPropertyName("sha256")] string Sha256)
{
    /// <summary>The file's pieces, in order; only feed manifests have them.</summary>
    [JsonPropertyName("parts")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<FilePart>? Parts { get; init; }
}

/// <summary>
/// A cache entry: a merge's fingerprint and the files of its output folder. The same JSON names an entry in the local
/// store (<c>entries/&lt;fingerprint&gt;.json</c>) and in a feed's manifest package (then with parts per file).
/// Everything read is checked, because a feed is untrusted: paths stay inside the folder, hashes are well formed,
/// sizes add up.
/// </summary>
public sealed record CacheManifest(
    [property: JsonPropertyName("fingerprint")] string Fingerprint,
    [property: JsonPropertyName("files")] IReadOnlyList<CachedFile> Files)
{
    /// <summary>The JSON's format version; a different one is not read.</summary>
    [JsonPropertyName("format")]
    public int Format { get; init; } = CurrentFormat;

    public const int CurrentFormat = 1;

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    public long TotalBytes => Files.Sum(f => f.Size);

    /// <summary>True for the fingerprints MergeBuild computes (hex digits only, so safe as a file or package name).</summary>
    public static bool IsFingerprint(string? text) =>
        text is { Length: >= 16 and <= 64 } && text.All(c => char.IsAsciiDigit(c) || c is >= 'a' and <= 'f');

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>Parses and checks a manifest; <paramref name="origin"/> (a file or package) is named in errors.</summary>
    public static CacheManifest Parse(string json, string expectedFingerprint, string origin)
    {
        CacheManifest? manifest;
        try
        {
            manifest = JsonSerializer.Deserialize<CacheManifest>(json, Json);
        }
        catch (JsonException e)
        {
            throw Malformed(origin, $"it is not valid manifest JSON ({e.Message})");
        }

        if (manifest?.Files is null || manifest.Fingerprint is null)
        {
            throw Malformed(origin, "it lacks the fingerprint or the file list");
        }

        if (manifest.Format != CurrentFormat)
        {
            throw Malformed(origin, $"its format {manifest.Format} is not {CurrentFormat}");
        }

        if (manifest.Fingerprint != expectedFingerprint)
        {
            throw Malformed(origin, $"it is for fingerprint {manifest.Fingerprint}, not {expectedFingerprint}");
        }

        var paths = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var file in manifest.Files)
        {
            if (file is null)
            {
                throw Malformed(origin, "its file list has an empty entry");
            }

            if (CachePaths.Problem(file.Path) is { } problem)
            {
                throw new MergeBuildException(ErrorCodes.CachePackageRejected,
                    $"{origin} names the file '{file.Path}': {problem}; it was rejected.", new SourceLocation(origin),
                    "Delete this entry or package; MergeBuild never writes such paths.");
            }

            // Case-insensitively unique, so no two entries land on one file on Windows or macOS.
            if (!paths.Add(file.Path))
            {
                throw Malformed(origin, $"it names '{file.Path}' twice");
            }

            if (file.Size < 0 || !Sha256Hash.IsWellFormed(file.Sha256))
            {
                throw Malformed(origin, $"the size or SHA-256 of '{file.Path}' is not valid");
            }

            if (file.Parts is { } parts && (parts.Any(p => p is null || p.Size < 0 || !Sha256Hash.IsWellFormed(p.Sha256)) ||
                                            parts.Sum(p => p.Size) != file.Size))
            {
                throw Malformed(origin, $"the parts of '{file.Path}' do not add up to its size");
            }
        }

        return manifest;
    }

    private static MergeBuildException Malformed(string origin, string why) =>
        new(ErrorCodes.CachePackageRejected, $"the cache manifest {origin} was rejected: {why}.",
            new SourceLocation(origin), "Delete it; the merge is rebuilt and cached again.");
}
