using MergeBuild.Diagnostics;
using YamlDotNet.RepresentationModel;

namespace MergeBuild.Recipes;

/// <summary>
/// Reads model references in mergekit's forms: <c>path</c>, <c>path@revision</c>, <c>path+lora_path</c> (each side
/// may carry <c>@revision</c>) and <c>{model: {path, revision}, lora: {path, revision}, override_architecture}</c>.
/// A reference whose bare path is the <c>name</c> of an earlier document is marked as that document's output.
/// </summary>
internal sealed class ModelReferenceParser(RecipeNodes nodes, IReadOnlySet<string> earlierNames)
{
    private static readonly string[] DictKeys = ["model", "lora", "override_architecture"];
    private static readonly string[] PathKeys = ["path", "revision"];

    private const string FormsHint =
        "Write `path`, `path@revision`, `path+lora_path` or `{model: {path: ..., revision: ...}, lora: {path: ...}}`.";

    public ModelReference Parse(YamlNode node, string what)
    {
        if (node is YamlMappingNode map)
        {
            return ParseDictionary(map, what);
        }

        var text = nodes.Text(node, what);
        var location = nodes.At(node);
        var plus = text.IndexOf('+', StringComparison.Ordinal);
        var (path, revision) = SplitRevision(plus < 0 ? text : text[..plus], node, what);
        string? loraPath = null;
        string? loraRevision = null;
        if (plus >= 0)
        {
            (loraPath, loraRevision) = SplitRevision(text[(plus + 1)..], node, what + "'s LoRA");
        }

        return Mark(new ModelReference(path, revision, loraPath, location) { LoraRevision = loraRevision, Text = text });
    }

    private ModelReference ParseDictionary(YamlMappingNode map, string what)
    {
        var entries = nodes.Entries(map, $"{what} (a model reference)", DictKeys);
        if (!entries.TryGetValue("model", out var model) || RecipeNodes.IsNull(model.Value))
        {
            throw nodes.Fail(ErrorCodes.MissingKey, map, $"{what} has no 'model'.", FormsHint);
        }

        var (path, revision) = ParsePath(model.Value, what);
        string? loraPath = null;
        string? loraRevision = null;
        if (entries.TryGetValue("lora", out var lora) && !RecipeNodes.IsNull(lora.Value))
        {
            (loraPath, loraRevision) = ParsePath(lora.Value, what + "'s LoRA");
        }

        string? architecture = null;
        if (entries.TryGetValue("override_architecture", out var arch) && !RecipeNodes.IsNull(arch.Value))
        {
            architecture = nodes.Text(arch.Value, "override_architecture");
        }

        var text = Canonical(path, revision) + (loraPath is null ? "" : "+" + Canonical(loraPath, loraRevision));
        return Mark(new ModelReference(path, revision, loraPath, nodes.At(map))
        {
            LoraRevision = loraRevision,
            OverrideArchitecture = architecture,
            Text = text,
        });
    }

    /// <summary>The <c>model:</c>/<c>lora:</c> part of the dictionary form: a <c>path@rev</c> string or <c>{path, revision}</c>.</summary>
    private (string Path, string? Revision) ParsePath(YamlNode node, string what)
    {
        if (node is not YamlMappingNode map)
        {
            return SplitRevision(nodes.Text(node, what), node, what);
        }

        var entries = nodes.Entries(map, $"{what}'s path", PathKeys);
        if (!entries.TryGetValue("path", out var path) || RecipeNodes.IsNull(path.Value))
        {
            throw nodes.Fail(ErrorCodes.MissingKey, map, $"{what} has no 'path'.", FormsHint);
        }

        string? revision = null;
        if (entries.TryGetValue("revision", out var rev) && !RecipeNodes.IsNull(rev.Value))
        {
            revision = nodes.Text(rev.Value, $"{what}'s revision");
        }

        return (nodes.Text(path.Value, $"{what}'s path"), revision);
    }

    private (string Path, string? Revision) SplitRevision(string text, YamlNode node, string what)
    {
        var parts = text.Split('@');
        if (parts.Length > 2 || parts.Any(p => p.Trim().Length == 0))
        {
            throw nodes.Fail(ErrorCodes.InvalidValue, node,
                $"{what} '{text}' is not a valid model reference (a path, then at most one '@revision').", FormsHint);
        }

        return (parts[0], parts.Length == 2 ? parts[1] : null);
    }

    private ModelReference Mark(ModelReference reference) =>
        reference is { Revision: null, LoraPath: null, OverrideArchitecture: null } && earlierNames.Contains(reference.Path)
            ? reference with { IntermediateName = reference.Path }
            : reference;

    private static string Canonical(string path, string? revision) => revision is null ? path : $"{path}@{revision}";
}
