using MergeBuild.Diagnostics;
using MergeBuild.Tensors;
using YamlDotNet.RepresentationModel;

namespace MergeBuild.Recipes;

/// <summary>
/// Turns one YAML document into a <see cref="Recipe"/>: the schema of mergekit's <c>MergeConfiguration</c>, but
/// refusing what mergekit silently ignores (unknown keys and parameter names) and what it only finds out late.
/// </summary>
internal sealed class RecipeDocumentParser
{
    private static readonly string[] TopKeys =
    [
        "merge_method", "base_model", "models", "slices", "parameters", "dtype", "out_dtype",
        "tokenizer_source", "tokenizer", "chat_template", "name", "modules", "gates", "cache",
    ];

    private static readonly string[] ExtensionKeys = ["gates", "cache"];
    private static readonly string[] ModelKeys = ["model", "parameters"];
    private static readonly string[] SliceKeys = ["sources", "base_model", "parameters", "residual_weight"];
    private static readonly string[] SourceKeys = ["model", "layer_range", "parameters"];
    private static readonly string[] DTypeNames = ["bfloat16", "float16", "float32", "int64"];

    private readonly RecipeNodes _nodes;
    private readonly ModelReferenceParser _references;

    public RecipeDocumentParser(RecipeNodes nodes, IReadOnlySet<string> earlierNames)
    {
        _nodes = nodes;
        _references = new ModelReferenceParser(nodes, earlierNames);
    }

    public Recipe Parse(YamlNode root)
    {
        var map = _nodes.Mapping(root, "a recipe", "A recipe is a mapping with at least `merge_method:` and `models:` or `slices:`.");
        var entries = _nodes.Entries(map, "the recipe", TopKeys);

        if (entries.TryGetValue("modules", out var modules))
        {
            throw _nodes.Fail(ErrorCodes.InvalidValue, modules.Key, "'modules' (multi-module architectures) is not supported yet.",
                "Use `models:` or `slices:`.");
        }

        var (method, methodNode) = ParseMethod(map, entries);
        var parameters = new ParameterParser(_nodes, method);

        var hasModels = entries.TryGetValue("models", out var models) && !RecipeNodes.IsNull(models.Value);
        var hasSlices = entries.TryGetValue("slices", out var slices) && !RecipeNodes.IsNull(slices.Value);
        if (hasModels && hasSlices)
        {
            var later = models.Key.Start.Index > slices.Key.Start.Index ? models.Key : slices.Key;
            throw _nodes.Fail(ErrorCodes.ConflictingKeys, later, "a recipe has either 'models' or 'slices', not both.",
                "Keep `models:` for a whole-model merge or `slices:` to assemble layer ranges.");
        }

        if (!hasModels && !hasSlices)
        {
            throw _nodes.Fail(ErrorCodes.MissingKey, map, "the recipe lists no models: it needs 'models' or 'slices'.",
                "Add `models:` with a `- model: <path>` entry per input model.");
        }

        if (entries.TryGetValue("tokenizer_source", out var legacy) && entries.TryGetValue("tokenizer", out _))
        {
            throw _nodes.Fail(ErrorCodes.ConflictingKeys, legacy.Key, "'tokenizer_source' and 'tokenizer' cannot both be set.",
                "Move the source into the block: `tokenizer: {source: ...}`.");
        }

        var tokenizer = new TokenizerParser(_nodes, _references);
        (string Source, ModelReference? Model)? tokenizerSource = Optional(entries, "tokenizer_source") is { } ts
            ? tokenizer.ParseSource(ts, "tokenizer_source")
            : null;
        var (dtype, dtypeAt) = ParseDType(entries, "dtype");
        var (outDType, outDTypeAt) = ParseDType(entries, "out_dtype");

        return new Recipe(_nodes.Text(methodNode, "merge_method"), _nodes.At(methodNode), method, _nodes.At(map))
        {
            Name = Optional(entries, "name") is { } name ? _nodes.Text(name, "name") : null,
            NameLocation = Optional(entries, "name") is { } nameNode ? _nodes.At(nameNode) : null,
            BaseModel = Optional(entries, "base_model") is { } baseModel ? _references.Parse(baseModel, "base_model") : null,
            Models = hasModels ? ParseModels(models.Value, parameters) : [],
            Slices = hasSlices ? ParseSlices(slices.Value, parameters) : [],
            Parameters = parameters.Parse(Optional(entries, "parameters"), ParameterLevel.TopLevel),
            DType = dtype,
            DTypeLocation = dtypeAt,
            OutDType = outDType,
            OutDTypeLocation = outDTypeAt,
            TokenizerSource = tokenizerSource?.Source,
            TokenizerSourceModel = tokenizerSource?.Model,
            TokenizerSourceLocation = Optional(entries, "tokenizer_source") is { } tsNode ? _nodes.At(tsNode) : null,
            Tokenizer = Optional(entries, "tokenizer") is { } block ? tokenizer.ParseBlock(block) : null,
            ChatTemplate = Optional(entries, "chat_template") is { } template ? _nodes.Text(template, "chat_template") : null,
            ChatTemplateLocation = Optional(entries, "chat_template") is { } templateNode ? _nodes.At(templateNode) : null,
            Extensions = ExtensionKeys.Where(entries.ContainsKey).ToDictionary(k => k, k => entries[k].Value, StringComparer.Ordinal),
        };
    }

    /// <summary>A key's value, or null when the key is absent or its value is a YAML null (mergekit's <c>None</c>).</summary>
    private static YamlNode? Optional(IReadOnlyDictionary<string, (YamlScalarNode Key, YamlNode Value)> entries, string key) =>
        entries.TryGetValue(key, out var entry) && !RecipeNodes.IsNull(entry.Value) ? entry.Value : null;

    private (MergeMethodSpec Method, YamlNode Node) ParseMethod(YamlMappingNode map, IReadOnlyDictionary<string, (YamlScalarNode Key, YamlNode Value)> entries)
    {
        var names = MergeMethodCatalog.All.Select(m => m.Name).ToList();
        if (Optional(entries, "merge_method") is not { } node)
        {
            throw _nodes.Fail(ErrorCodes.MissingKey, map, "the recipe has no 'merge_method'.",
                $"Add `merge_method: <name>`, one of: {string.Join(", ", names)}.");
        }

        var name = _nodes.Text(node, "merge_method");
        return MergeMethodCatalog.TryGet(name, out var method)
            ? (method, node)
            : throw _nodes.UnknownName(ErrorCodes.UnknownMethod, node, $"unknown merge method '{name}'", name, names,
                $"Known methods: {string.Join(", ", names)}.");
    }

    private List<InputModel> ParseModels(YamlNode node, ParameterParser parameters)
    {
        const string Hint = "Each entry is `- model: <path>` with optional `parameters:`.";
        var result = new List<InputModel>();
        foreach (var item in _nodes.NonEmptySequence(node, "models", Hint).Children)
        {
            var map = _nodes.Mapping(item, "a models entry", Hint);
            var entries = _nodes.Entries(map, "a models entry", ModelKeys);
            var model = Optional(entries, "model") ?? throw _nodes.Fail(ErrorCodes.MissingKey, map, "a models entry has no 'model'.", Hint);
            result.Add(new InputModel(_references.Parse(model, "model"),
                parameters.Parse(Optional(entries, "parameters"), ParameterLevel.Model), _nodes.At(map)));
        }

        return result;
    }

    private List<OutputSlice> ParseSlices(YamlNode node, ParameterParser parameters)
    {
        const string Hint = "Each slice is `- sources: [{model: <path>, layer_range: [start, end]}, ...]`.";
        var result = new List<OutputSlice>();
        foreach (var item in _nodes.NonEmptySequence(node, "slices", Hint).Children)
        {
            var map = _nodes.Mapping(item, "a slice", Hint);
            var entries = _nodes.Entries(map, "a slice", SliceKeys);
            var sourcesNode = Optional(entries, "sources") ?? throw _nodes.Fail(ErrorCodes.MissingKey, map, "a slice has no 'sources'.", Hint);
            var sources = _nodes.NonEmptySequence(sourcesNode, "sources", Hint).Children
                .Select(source => ParseSource(source, parameters))
                .ToList();
            result.Add(new OutputSlice(sources,
                Optional(entries, "base_model") is { } baseModel ? _references.Parse(baseModel, "the slice's base_model") : null,
                parameters.Parse(Optional(entries, "parameters"), ParameterLevel.Slice),
                _nodes.At(map))
            {
                ResidualWeight = Optional(entries, "residual_weight") is { } residual ? _nodes.Number(residual, "residual_weight") : null,
            });
        }

        return result;
    }

    private SliceSource ParseSource(YamlNode node, ParameterParser parameters)
    {
        const string Hint = "A source is `{model: <path>, layer_range: [start, end]}` (end exclusive).";
        var map = _nodes.Mapping(node, "a slice source", Hint);
        var entries = _nodes.Entries(map, "a slice source", SourceKeys);
        var model = Optional(entries, "model") ?? throw _nodes.Fail(ErrorCodes.MissingKey, map, "a slice source has no 'model'.", Hint);
        var range = Optional(entries, "layer_range") ?? throw _nodes.Fail(ErrorCodes.MissingKey, map, "a slice source has no 'layer_range'.", Hint);
        return new SliceSource(_references.Parse(model, "model"), ParseLayerRange(range),
            parameters.Parse(Optional(entries, "parameters"), ParameterLevel.Model), _nodes.At(map));
    }

    private LayerRange ParseLayerRange(YamlNode node)
    {
        const string Hint = "Write `layer_range: [start, end]`: the first layer and one past the last (half-open, like Python's range).";
        var list = _nodes.Sequence(node, "layer_range", Hint);
        if (list.Children.Count != 2)
        {
            throw _nodes.Fail(ErrorCodes.InvalidValue, node, $"layer_range must have exactly two numbers, found {list.Children.Count}.", Hint);
        }

        var start = _nodes.Integer(list.Children[0], "layer_range start");
        var end = _nodes.Integer(list.Children[1], "layer_range end");
        if (start < 0)
        {
            throw _nodes.Fail(ErrorCodes.InvalidValue, list.Children[0], $"layer_range start {start} is negative.", Hint);
        }

        return end > start
            ? new LayerRange(start, end, _nodes.At(node))
            : throw _nodes.Fail(ErrorCodes.InvalidValue, node, $"layer_range [{start}, {end}] is empty: the end must be greater than the start.", Hint);
    }

    private (DType? DType, SourceLocation? Location) ParseDType(IReadOnlyDictionary<string, (YamlScalarNode Key, YamlNode Value)> entries, string key)
    {
        if (Optional(entries, key) is not { } node)
        {
            return (null, null);
        }

        var text = _nodes.Text(node, key);
        var bare = text.StartsWith("torch.", StringComparison.Ordinal) ? text["torch.".Length..] : text;
        // mergekit accepts exactly these four; DTypes knows aliases (bf16, half…) that mergekit would refuse.
        if (!DTypeNames.Contains(bare, StringComparer.Ordinal) || !DTypes.TryParseTorchName(bare, out var dtype))
        {
            throw _nodes.UnknownName(ErrorCodes.InvalidValue, node, $"unsupported {key} '{text}'", bare, DTypeNames,
                $"Use one of: {string.Join(", ", DTypeNames)} (optionally with a `torch.` prefix).");
        }

        return (dtype, _nodes.At(node));
    }
}
