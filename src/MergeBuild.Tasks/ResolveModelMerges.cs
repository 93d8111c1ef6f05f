using MergeBuild.Diagnostics;
using MergeBuild.Fingerprints;
using MergeBuild.Recipes;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

namespace MergeBuild.Tasks;

/// <summary>
/// Runs on every build, cheaply: parses each <c>ModelMerge</c> recipe, fingerprints it (canonical recipe, content
/// hashes of every input file — remembered by path, size and timestamp — engine identity, options) and writes the
/// item's stamp file only when the fingerprint changed. The merge target takes the stamp as its input, so touching a
/// file without changing it never re-merges, and changing one byte always does.
/// </summary>
public sealed class ResolveModelMerges : Microsoft.Build.Utilities.Task
{
    /// <summary>The <c>ModelMerge</c> items, with OutputName and OutputFolder metadata already defaulted.</summary>
    [Required]
    public ITaskItem[] Merges { get; set; } = [];

    /// <summary>Where stamps (and the content-hash memo) live: under the intermediate output path.</summary>
    [Required]
    public string StampDirectory { get; set; } = "";

    /// <summary>The items with StampFile, MarkerFile, OutputFolder (full path) and Fingerprint metadata.</summary>
    [Output]
    public ITaskItem[] Resolved { get; private set; } = [];

    public override bool Execute()
    {
        var hashCachePath = Path.Combine(StampDirectory, "content-hashes.tsv");
        var hashes = ContentHashCache.Load(hashCachePath);
        var resolved = new List<ITaskItem>();
        foreach (var item in MergeOrder.Sort(Merges, Log))
        {
            try
            {
                resolved.Add(Resolve(item, hashes, resolved));
            }
            catch (MergeBuildException e)
            {
                LogError(item, e);
            }
        }

        try
        {
            hashes.Save(hashCachePath);
        }
        catch (IOException e)
        {
            Log.LogMessage(MessageImportance.Low, $"MergeBuild: could not save the content-hash memo: {e.Message}");
        }

        Resolved = [.. resolved];
        return !Log.HasLoggedErrors;
    }

    private TaskItem Resolve(ITaskItem item, ContentHashCache hashes, List<ITaskItem> earlier)
    {
        var recipePath = item.GetMetadata("FullPath");
        var name = item.GetMetadata("OutputName");
        var outputFolder = Path.TrimEndingDirectorySeparator(Path.GetFullPath(item.GetMetadata("OutputFolder")));
        var recipes = RecipeParser.ParseFile(recipePath);
        // Items merged earlier in this build stand in for their output folders by fingerprint.
        var produced = earlier.ToDictionary(
            e => Path.TrimEndingDirectorySeparator(e.GetMetadata("OutputFolder")), e => e.GetMetadata("Fingerprint"),
            StringComparer.Ordinal);
        var fingerprint = MergeFingerprint.Compute(recipes, Options(item), hashes, produced);

        var stamp = Path.Combine(StampDirectory, name + ".stamp");
        var stampText = fingerprint.Value + "\n" + fingerprint.Text;
        var marker = Path.Combine(outputFolder, Execution.AtomicOutputFolder.MarkerFileName);

        // The output holds this merge only if its marker records this fingerprint. File times alone cannot tell: a
        // slower build of an older recipe (or another project) may commit after this one wrote its stamp. A marker
        // without a fingerprint (older versions) falls back to the times.
        var recorded = Execution.OutputMarker.ReadFingerprint(outputFolder);
        var foreign = File.Exists(marker) && recorded is not null && recorded != fingerprint.Value;
        var stampChanged = !File.Exists(stamp) || File.ReadAllText(stamp) != stampText;
        if (stampChanged || foreign)
        {
            // Rewriting the stamp makes it newer than the marker, so the merge target's Inputs/Outputs check runs it.
            Directory.CreateDirectory(StampDirectory);
            File.WriteAllText(stamp, stampText);
            var newerThanMarker = File.Exists(marker) ? File.GetLastWriteTimeUtc(marker).AddSeconds(1) : DateTime.MinValue;
            File.SetLastWriteTimeUtc(stamp, newerThanMarker > DateTime.UtcNow ? newerThanMarker : DateTime.UtcNow);
        }

        var upToDate = !stampChanged && !foreign && File.Exists(marker) &&
                       File.GetLastWriteTimeUtc(marker) >= File.GetLastWriteTimeUtc(stamp);
        if (upToDate)
        {
            Log.LogMessage(MessageImportance.High, $"{item.ItemSpec} → {Relative(outputFolder)}: up to date");
        }

        var result = new TaskItem(item);
        result.SetMetadata("OutputFolder", outputFolder + Path.DirectorySeparatorChar);
        result.SetMetadata("StampFile", stamp);
        result.SetMetadata("Recipe", recipePath);
        result.SetMetadata("MarkerFile", marker);
        result.SetMetadata("Fingerprint", fingerprint.Value);
        return result;
    }

    private static FingerprintOptions Options(ITaskItem item)
    {
        var options = new FingerprintOptions();
        if (item.GetMetadata("Seed") is { Length: > 0 } seed)
        {
            options = options with { Seed = MetadataValues.Seed(seed, "Seed") };
        }

        if (item.GetMetadata("OutShardSize") is { Length: > 0 } shard)
        {
            options = options with { MaxShardBytes = Execution.DecimalSize.Parse(shard, "OutShardSize") };
        }

        if (item.GetMetadata("CopyTokenizer") is { Length: > 0 } copy)
        {
            options = options with { CopyTokenizer = MetadataValues.Boolean(copy, "CopyTokenizer") };
        }

        return options;
    }

    private void LogError(ITaskItem item, MergeBuildException e)
    {
        var message = $"ModelMerge '{item.ItemSpec}': {e.FullMessage}";
        if (e.Location is { } location)
        {
            Log.LogError(null, e.Code, null, location.File, location.Line, location.Column, 0, 0, message);
        }
        else
        {
            Log.LogError(null, e.Code, null, item.GetMetadata("FullPath"), 0, 0, 0, 0, message);
        }
    }

    private static string Relative(string path)
    {
        var relative = Path.GetRelativePath(Directory.GetCurrentDirectory(), path);
        return relative.StartsWith("..", StringComparison.Ordinal) ? path : relative;
    }
}
