namespace MergeBuild.Caching;

/// <summary>
/// A problem the cache recovered from (a damaged file, an unreachable feed): reported in the canonical
/// <c>origin: warning MBxxxx: message</c> form that MSBuild turns into a warning, after which the merge is rebuilt.
/// </summary>
public sealed record CacheWarning(string Code, string Origin, string Message)
{
    public override string ToString() => $"{Origin}: warning {Code}: {Message}";
}
