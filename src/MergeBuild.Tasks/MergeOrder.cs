using MergeBuild.Recipes;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

namespace MergeBuild.Tasks;

/// <summary>
/// Orders <c>ModelMerge</c> items so that an item whose recipe uses another item's output folder as a model comes
/// after it (a stable topological sort: otherwise declaration order). A cycle is reported and the items keep their
/// declaration order, so the build then fails on the missing model with a clear error.
/// </summary>
internal static class MergeOrder
{
    public static IReadOnlyList<ITaskItem> Sort(IReadOnlyList<ITaskItem> items, TaskLoggingHelper log)
    {
        var folders = items.ToDictionary(
            i => i, i => Path.TrimEndingDirectorySeparator(Path.GetFullPath(i.GetMetadata("OutputFolder"))));
        var dependencies = items.ToDictionary(i => i, i => Uses(i, items, folders));
        var ordered = new List<ITaskItem>();
        var state = new Dictionary<ITaskItem, int>(); // 1 = visiting, 2 = done
        foreach (var item in items)
        {
            if (!Visit(item, dependencies, state, ordered))
            {
                log.LogWarning(null, "MB5101", null, item.GetMetadata("FullPath"), 0, 0, 0, 0,
                    $"ModelMerge items use each other's outputs in a cycle ({item.ItemSpec}); merging in declaration order.");
                return items;
            }
        }

        return ordered;
    }

    private static List<ITaskItem> Uses(ITaskItem item, IReadOnlyList<ITaskItem> items, Dictionary<ITaskItem, string> folders)
    {
        try
        {
            var recipes = RecipeParser.ParseFile(item.GetMetadata("FullPath"));
            var used = recipes.Documents.SelectMany(d => d.AllModelReferences())
                .Where(r => r.IntermediateName is null)
                .Select(r => Path.TrimEndingDirectorySeparator(Path.GetFullPath(r.ResolvePath(recipes.BaseDirectory))))
                .ToHashSet(StringComparer.Ordinal);
            return items.Where(other => other != item && used.Contains(folders[other])).ToList();
        }
        catch (Diagnostics.MergeBuildException)
        {
            return []; // reported when the item itself is resolved
        }
    }

    private static bool Visit(ITaskItem item, Dictionary<ITaskItem, List<ITaskItem>> dependencies,
        Dictionary<ITaskItem, int> state, List<ITaskItem> ordered)
    {
        if (state.TryGetValue(item, out var s))
        {
            return s == 2;
        }

        state[item] = 1;
        foreach (var dependency in dependencies[item])
        {
            if (!Visit(dependency, dependencies, state, ordered))
            {
                return false;
            }
        }

        state[item] = 2;
        ordered.Add(item);
        return true;
    }
}
