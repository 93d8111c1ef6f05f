using MergeBuild.Diagnostics;
using YamlDotNet.RepresentationModel;

namespace MergeBuild.Recipes;

/// <summary>Reads the <c>tokenizer:</c> block and the legacy <c>tokenizer_source:</c> (mergekit/tokenizer/config.py's schema).</summary>
internal sealed class TokenizerParser(RecipeNodes nodes, ModelReferenceParser references)
{
    private static readonly string[] BlockKeys = ["source", "tokens", "pad_to_multiple_of"];
    private static readonly string[] TokenKeys = ["source", "force"];
    private static readonly string[] Kinds = ["model_token", "zero"];
    private static readonly string[] ModelTokenKeys = ["kind", "model", "token", "token_id"];
    private static readonly string[] ZeroKeys = ["kind"];

    /// <summary>A vocabulary source: <c>union</c>, <c>base</c>, or a model reference (returned as the model).</summary>
    public (string Source, ModelReference? Model) ParseSource(YamlNode node, string what)
    {
        if (node is YamlScalarNode { Value: "union" or "base" } keyword)
        {
            return (keyword.Value, null);
        }

        var model = references.Parse(node, what);
        return (model.Text, model);
    }

    public TokenizerConfig ParseBlock(YamlNode node)
    {
        var map = nodes.Mapping(node, "tokenizer");
        var entries = nodes.Entries(map, "the tokenizer block", BlockKeys);
        var (source, sourceModel) = entries.TryGetValue("source", out var s) && !RecipeNodes.IsNull(s.Value)
            ? ParseSource(s.Value, "tokenizer source")
            : ("union", null);

        var tokens = new Dictionary<string, TokenSettings>(StringComparer.Ordinal);
        if (entries.TryGetValue("tokens", out var t) && !RecipeNodes.IsNull(t.Value))
        {
            foreach (var (keyNode, value) in nodes.Mapping(t.Value, "tokenizer tokens").Children)
            {
                var token = nodes.Text(keyNode, "a token");
                tokens[token] = ParseToken(value, token);
            }
        }

        int? pad = null;
        if (entries.TryGetValue("pad_to_multiple_of", out var p) && !RecipeNodes.IsNull(p.Value))
        {
            pad = nodes.Integer(p.Value, "pad_to_multiple_of");
            if (pad < 1)
            {
                throw nodes.Fail(ErrorCodes.InvalidValue, p.Value, $"pad_to_multiple_of must be at least 1, not {pad}.");
            }
        }

        return new TokenizerConfig(source, tokens, pad, nodes.At(map)) { SourceModel = sourceModel };
    }

    private TokenSettings ParseToken(YamlNode node, string token)
    {
        var where = $"the settings of token '{token}'";
        var entries = nodes.Entries(nodes.Mapping(node, where), where, TokenKeys);
        TokenSource? source = null;
        if (entries.TryGetValue("source", out var s) && !RecipeNodes.IsNull(s.Value))
        {
            source = ParseTokenSource(s.Value, token);
        }

        var force = entries.TryGetValue("force", out var f) && !RecipeNodes.IsNull(f.Value) && nodes.Boolean(f.Value, "force");
        return new TokenSettings(source, force, nodes.At(node));
    }

    private TokenSource ParseTokenSource(YamlNode node, string token)
    {
        var what = $"the source of token '{token}'";
        if (node is not YamlMappingNode map || !map.Children.ContainsKey(new YamlScalarNode("kind")))
        {
            // A string or a dictionary without `kind` is a model reference: that model's embedding of the same token.
            return new ModelEmbeddingTokenSource(references.Parse(node, what), nodes.At(node));
        }

        var kindNode = map.Children[new YamlScalarNode("kind")];
        var kind = nodes.Text(kindNode, "kind");
        switch (kind)
        {
            case "zero":
                nodes.Entries(map, what, ZeroKeys);
                return new ZeroTokenSource(nodes.At(map));
            case "model_token":
                var entries = nodes.Entries(map, what, ModelTokenKeys);
                if (!entries.TryGetValue("model", out var model) || RecipeNodes.IsNull(model.Value))
                {
                    throw nodes.Fail(ErrorCodes.MissingKey, map, $"{what} (kind: model_token) has no 'model'.");
                }

                var hasToken = entries.TryGetValue("token", out var text) && !RecipeNodes.IsNull(text.Value);
                var hasId = entries.TryGetValue("token_id", out var id) && !RecipeNodes.IsNull(id.Value);
                if (hasToken == hasId)
                {
                    throw nodes.Fail(hasToken ? ErrorCodes.ConflictingKeys : ErrorCodes.MissingKey, map,
                        $"{what} (kind: model_token) needs exactly one of 'token' and 'token_id'.");
                }

                return new ModelTokenSource(references.Parse(model.Value, what),
                    hasToken ? nodes.Text(text.Value, "token") : null,
                    hasId ? nodes.Integer(id.Value, "token_id") : null,
                    nodes.At(map));
            default:
                throw nodes.UnknownName(ErrorCodes.InvalidValue, kindNode, $"unknown token source kind '{kind}'", kind, Kinds,
                    "Use `kind: model_token` (with model and token or token_id) or `kind: zero`.");
        }
    }
}
