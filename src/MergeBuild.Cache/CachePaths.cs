using MergeBuild.Diagnostics;
using MergeBuild.Execution;

namespace MergeBuild.Caching;

/// <summary>
/// Checks the relative file paths that manifests name (a manifest may come from an untrusted feed): only plain
/// <c>a/b/c</c> paths inside the model folder are accepted, never <c>..</c>, absolute paths, drive letters,
/// backslashes or MergeBuild's own marker file.
/// </summary>
public static class CachePaths
{
    private const int MaxLength = 512;

    /// <summary>Why <paramref name="path"/> is not a safe relative path, or null when it is.</summary>
    public static string? Problem(string? path)
    {
        if (string.IsNullOrEmpty(path))
        {
            return "the path is empty";
        }

        if (path.Length > MaxLength)
        {
            return $"the path is longer than {MaxLength} characters";
        }

        if (path.Contains('\\', StringComparison.Ordinal) || path.Contains(':', StringComparison.Ordinal) ||
            path.Any(char.IsControl))
        {
            return "the path contains a backslash, a colon or a control character";
        }

        if (path.StartsWith('/') || Path.IsPathRooted(path))
        {
            return "the path is absolute";
        }

        foreach (var segment in path.Split('/'))
        {
            if (segment is "" or "." or "..")
            {
                return "the path has an empty, '.' or '..' segment";
            }
        }

        return path == AtomicOutputFolder.MarkerFileName ? "the path names MergeBuild's output marker" : null;
    }

    /// <summary>
    /// The full path of <paramref name="relative"/> under <paramref name="root"/>, after checking it stays there.
    /// </summary>
    public static string Resolve(string root, string relative, string origin)
    {
        if (Problem(relative) is { } problem)
        {
            throw Rejected(relative, origin, problem);
        }

        var fullRoot = Path.TrimEndingDirectorySeparator(Path.GetFullPath(root)) + Path.DirectorySeparatorChar;
        var full = Path.GetFullPath(Path.Combine(fullRoot, relative.Replace('/', Path.DirectorySeparatorChar)));
        return full.StartsWith(fullRoot, StringComparison.Ordinal)
            ? full
            : throw Rejected(relative, origin, "the path points outside the folder");
    }

    /// <summary>The folder's files (recursively, '/'-separated, ordinal order), without MergeBuild's marker.</summary>
    public static List<string> FilesOf(string folder)
    {
        var full = Path.GetFullPath(folder);
        return Directory.EnumerateFiles(full, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(full, f).Replace(Path.DirectorySeparatorChar, '/'))
            .Where(f => f != AtomicOutputFolder.MarkerFileName)
            .Order(StringComparer.Ordinal)
            .ToList();
    }

    private static MergeBuildException Rejected(string path, string origin, string problem) =>
        new(ErrorCodes.CachePackageRejected, $"{origin} names the file '{path}': {problem}; it was rejected.",
            new SourceLocation(origin), "Remove this entry or package from the cache or feed; it was not written by MergeBuild.");
}
