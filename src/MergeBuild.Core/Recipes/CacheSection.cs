using MergeBuild.Diagnostics;

namespace MergeBuild.Recipes;

/// <summary>
/// A recipe's <c>cache:</c> section (ignored by mergekit): <c>cache: {mode: off|read|readwrite, feed: SOURCE}</c>.
/// Command-line flags, MSBuild properties and environment variables override it. A relative folder feed
/// (<c>./feed</c>) is resolved against the recipe's folder.
/// </summary>
public sealed record CacheSection(string? Mode, string? Feed)
{
    public static readonly string[] Modes = ["off", "read", "readwrite"];

    private static readonly string[] Keys = ["mode", "feed"];

    /// <summary>The final document's section, or an empty one when there is none.</summary>
    public static CacheSection Parse(RecipeSet recipes)
    {
        ArgumentNullException.ThrowIfNull(recipes);
        if (!recipes.Final.Extensions.TryGetValue("cache", out var node) || RecipeNodes.IsNull(node))
        {
            return new CacheSection(null, null);
        }

        var nodes = new RecipeNodes(recipes.FilePath);
        var entries = nodes.Entries(nodes.Mapping(node, "cache", "Write cache: {mode: read, feed: ./feed}."), "cache", Keys);
        string? mode = null;
        if (entries.TryGetValue("mode", out var modeEntry))
        {
            mode = nodes.Text(modeEntry.Value, "cache.mode");
            if (!Modes.Contains(mode, StringComparer.Ordinal))
            {
                throw nodes.UnknownName(ErrorCodes.InvalidValue, modeEntry.Value, $"unknown cache mode '{mode}'", mode, Modes,
                    "Use off, read or readwrite.");
            }
        }

        string? feed = null;
        if (entries.TryGetValue("feed", out var feedEntry))
        {
            feed = nodes.Text(feedEntry.Value, "cache.feed");
            if (feed.StartsWith("./", StringComparison.Ordinal) || feed.StartsWith("../", StringComparison.Ordinal))
            {
                feed = Path.GetFullPath(Path.Combine(recipes.BaseDirectory, feed));
            }
        }

        return new CacheSection(mode, feed);
    }
}
