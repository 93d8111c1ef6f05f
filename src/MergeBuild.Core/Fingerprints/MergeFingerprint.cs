using System.IO.Hashing;
using System.Text;
using MergeBuild.Diagnostics;
using MergeBuild.Recipes;

namespace MergeBuild.Fingerprints;

/// <summary>Options of a merge that change its output bytes, and so belong in its fingerprint.</summary>
public sealed record FingerprintOptions
{
    public ulong Seed { get; init; } = Execution.MergeOptions.DefaultRandomSeed;

    public long MaxShardBytes { get; init; } = Checkpoints.ShardSize.Default;

    public bool CopyTokenizer { get; init; } = true;

    public bool TruncateEmbeddings { get; init; }

    public bool WriteModelCard { get; init; } = true;
}

/// <summary>
/// Names a merge's output exactly: a hash of the canonical recipe, the content hash of every file of every input model
/// (and LoRA adapter), the engine's identity and the options that change results. Same fingerprint, same bytes.
/// </summary>
/// <param name="Value">32 hex digits.</param>
/// <param name="Text">The lines that were hashed, for a stamp file a person can read and diff.</param>
public sealed record MergeFingerprint(string Value, string Text)
{
    /// <summary>Computes the fingerprint of a parsed recipe file. Missing model folders are errors at their reference.</summary>
    public static MergeFingerprint Compute(RecipeSet recipes, FingerprintOptions options, ContentHashCache hashes) =>
        Compute(recipes, options, hashes, new Dictionary<string, string>());

    /// <summary>
    /// Computes the fingerprint when some inputs are the outputs of other merges of the same build:
    /// <paramref name="producedFolders"/> maps such a folder (full path) to its merge's fingerprint, which stands in for
    /// the folder's files (they may not exist yet, and they are fully determined by that fingerprint).
    /// </summary>
    public static MergeFingerprint Compute(RecipeSet recipes, FingerprintOptions options, ContentHashCache hashes,
        IReadOnlyDictionary<string, string> producedFolders)
    {
        ArgumentNullException.ThrowIfNull(producedFolders);
        ArgumentNullException.ThrowIfNull(recipes);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(hashes);
        var text = new StringBuilder();
        text.Append("engine MergeBuild ").Append(EngineInfo.Version).Append(' ').Append(EngineInfo.BuildId).Append('\n');
        text.Append(System.Globalization.CultureInfo.InvariantCulture,
            $"options seed={options.Seed} shard={options.MaxShardBytes} tokenizer={options.CopyTokenizer} " +
            $"truncate={options.TruncateEmbeddings} card={options.WriteModelCard}\n");
        text.Append("recipe ").Append(Convert.ToHexStringLower(XxHash128.Hash(
            Encoding.UTF8.GetBytes(CanonicalRecipe.Of(recipes.Text))))).Append('\n');
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var reference in recipes.Documents.SelectMany(d => d.AllModelReferences()))
        {
            if (reference.IntermediateName is not null)
            {
                continue; // built from this same recipe: covered by the recipe and the other inputs
            }

            var modelFolder = Path.TrimEndingDirectorySeparator(Path.GetFullPath(reference.ResolvePath(recipes.BaseDirectory)));
            if (producedFolders.TryGetValue(modelFolder, out var produced))
            {
                text.Append("model ").Append(reference.Text).Append(" = merge ").Append(produced).Append('\n');
                continue;
            }

            AddFolder(text, seen, hashes, reference, modelFolder, "model");
            if (reference.LoraPath is { } lora)
            {
                var adapter = Path.IsPathRooted(lora) ? lora : Path.Combine(recipes.BaseDirectory, lora);
                AddFolder(text, seen, hashes, reference, adapter, "lora");
            }
        }

        // Gates are part of the build's result: a changed eval set re-checks the merge.
        foreach (var gate in Recipes.Gates.GateParser.Parse(recipes).Where(g => g.DataPath is not null))
        {
            text.Append("gate ").Append(gate.Name).Append(' ')
                .Append(File.Exists(gate.DataPath) ? hashes.Hash(gate.DataPath!) : "missing").Append('\n');
        }

        var value = Convert.ToHexStringLower(XxHash128.Hash(Encoding.UTF8.GetBytes(text.ToString())));
        return new MergeFingerprint(value, text.ToString());
    }

    private static void AddFolder(StringBuilder text, HashSet<string> seen, ContentHashCache hashes,
        ModelReference reference, string folder, string kind)
    {
        var full = Path.GetFullPath(folder);
        if (!seen.Add(full))
        {
            return;
        }

        if (!Directory.Exists(full))
        {
            throw new MergeBuildException(ErrorCodes.ModelNotFound,
                $"{(kind == "lora" ? "LoRA adapter" : "model")} folder '{(kind == "lora" ? reference.LoraPath : reference.Path)}' " +
                $"does not exist ({full}).", reference.Location,
                "Check the path: relative paths are resolved from the recipe's folder.");
        }

        text.Append(kind).Append(' ').Append(reference.Text).Append('\n');
        foreach (var file in Directory.GetFiles(full).Where(f => !Path.GetFileName(f).StartsWith('.'))
                     .Order(StringComparer.Ordinal))
        {
            text.Append("  ").Append(Path.GetFileName(file)).Append(' ').Append(hashes.Hash(file)).Append('\n');
        }

    }
}
