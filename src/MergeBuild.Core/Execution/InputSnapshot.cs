using MergeBuild.Checkpoints;
using MergeBuild.Planning;

namespace MergeBuild.Execution;

/// <summary>
/// Content hashes of every input file of a merge (weights and config.json of each model), taken before the merge
/// reads them and checked again before the output replaces anything. A file changed in between (a download still
/// running, an editor saving) would give an output that matches neither version; the check turns that into MB1008
/// instead of a model whose recorded inputs are not the ones it was made from. Costs one extra read of the inputs,
/// usually from the page cache the merge has just filled.
/// </summary>
internal sealed class InputSnapshot
{
    private readonly Dictionary<string, string> _hashes;

    private InputSnapshot(Dictionary<string, string> hashes) => _hashes = hashes;

    public static InputSnapshot Take(MergePlan plan)
    {
        var hashes = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var file in FilesOf(plan))
        {
            if (!hashes.ContainsKey(file))
            {
                hashes[file] = Hash(file);
            }
        }

        return new InputSnapshot(hashes);
    }

    /// <summary>The files a plan reads, in model order: each model's weight files, then its config.json.</summary>
    public static IEnumerable<string> FilesOf(MergePlan plan) =>
        plan.Models.SelectMany(model =>
            model.Folder.Weights.WeightFiles.Append(Path.Combine(model.Path, "config.json")))
            .Where(File.Exists);

    /// <summary>The hash of <paramref name="file"/> when the merge started.</summary>
    public string HashOf(string file) => _hashes.TryGetValue(file, out var hash) ? hash : Hash(file);

    /// <summary>Hashes every file again; MB1008 naming the first that changed.</summary>
    public void VerifyUnchanged()
    {
        foreach (var (file, before) in _hashes)
        {
            string after;
            try
            {
                after = Hash(file);
            }
            catch (Exception e) when (CheckpointErrors.IsIoFailure(e))
            {
                throw CheckpointErrors.Changed(file, $"it could not be read again after the merge ({e.Message}).");
            }

            if (after != before)
            {
                throw CheckpointErrors.Changed(file,
                    $"its xxhash128 was {before} when the merge started and is {after} now; the output was discarded.");
            }
        }
    }

    private static string Hash(string file)
    {
        try
        {
            return ContentHash.OfFile(file);
        }
        catch (Exception e) when (CheckpointErrors.IsIoFailure(e))
        {
            throw CheckpointErrors.Io(file, e);
        }
    }
}
