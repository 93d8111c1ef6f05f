using System.Text.Json.Nodes;
using MergeBuild.Diagnostics;
using MergeBuild.Planning;
using MergeBuild.Recipes;

namespace MergeBuild.Tokenizers;

/// <summary>
/// Builds the output vocabulary by mergekit's rules (<c>mergekit/tokenizer/build.py</c>), with one change: ids are
/// assigned in recipe order, never in Python's hash order, so the same recipe always gives the same ids.
/// <list type="bullet">
/// <item><c>base</c>: the base model's tokenizer, stripped of tokens past its vocab_size.</item>
/// <item><c>&lt;model&gt;</c>: that model's tokenizer as it is.</item>
/// <item><c>union</c>: the base's tokens keep their ids; then every other model's regular tokens the output lacks
/// (models in recipe order, each model's tokens in id order), then every model's added tokens the output lacks (same
/// order; the first definition of a token wins).</item>
/// </list>
/// Tokens listed under <c>tokenizer.tokens</c> that the output still lacks are appended last, in recipe order.
/// </summary>
internal static class VocabularyBuilder
{
    public static OutputVocabulary Build(TokenizerPolicy policy, IReadOnlyList<PlannedModel> models,
        PlannedModel baseModel, ICollection<string> warnings)
    {
        var vocabularies = models.ToDictionary(m => m, ModelVocabulary.Load);
        var baseVocabulary = vocabularies[baseModel];
        TokenizerJson tokenizer;
        string templateFolder;
        if (policy.SourceModel is { } sourceModel)
        {
            tokenizer = vocabularies[sourceModel].Tokenizer.Clone();
            templateFolder = sourceModel.Path;
        }
        else
        {
            tokenizer = baseVocabulary.Tokenizer.Clone();
            tokenizer.Strip(baseVocabulary.Rows);
            templateFolder = baseModel.Path;
        }

        var tokens = OrderedTokens(tokenizer, policy, templateFolder);
        var present = tokens.ToHashSet(StringComparer.Ordinal);
        var newAdded = new List<string>();

        void Append(string token, AddedTokenFlags flags)
        {
            tokenizer.AddToken(token, tokens.Count, flags);
            tokens.Add(token);
            present.Add(token);
            newAdded.Add(token);
        }

        var others = models.Where(m => m != baseModel).Select(m => vocabularies[m]).ToList();
        if (policy.IsUnion)
        {
            foreach (var token in others.SelectMany(v => v.RegularTokens).Where(t => !present.Contains(t)).ToList())
            {
                if (!present.Contains(token))
                {
                    Append(token, AddedTokenFlags.Plain);
                }
            }

            var firstFlags = new Dictionary<string, (AddedTokenFlags Flags, PlannedModel Model)>(StringComparer.Ordinal);
            foreach (var vocabulary in others.Prepend(baseVocabulary))
            {
                foreach (var token in vocabulary.AddedTokens)
                {
                    var flags = vocabulary.Tokenizer.FlagsOf(token)!;
                    if (firstFlags.TryGetValue(token, out var first))
                    {
                        if (first.Flags != flags)
                        {
                            warnings.Add($"tokenizer: '{token}' is an added token of '{first.Model.Reference.Text}' and " +
                                         $"'{vocabulary.Model.Reference.Text}' with different settings; the first is kept.");
                        }

                        continue;
                    }

                    firstFlags[token] = (flags, vocabulary.Model);
                    if (!present.Contains(token))
                    {
                        Append(token, flags);
                    }
                }
            }
        }

        foreach (var token in policy.Tokens.Keys.Where(t => !present.Contains(t)))
        {
            Append(token, AddedTokenFlags.Plain);
        }

        WarnAboutDroppedTokens(policy, vocabularies.Values, present, warnings);
        foreach (var token in tokens.Where(t => vocabularies.Values.All(v => v.RowOf(t) < 0)))
        {
            var explicitSource = policy.Tokens.TryGetValue(token, out var setting) && setting.Source is not null;
            if (!explicitSource)
            {
                warnings.Add($"tokenizer: no model has an embedding row for '{token}'; its rows are zero.");
            }
        }

        var rows = policy.PadToMultipleOf is { } multiple && tokens.Count % multiple != 0
            ? (tokens.Count / multiple + 1) * multiple
            : tokens.Count;
        var settings = policy.Tokens.ToDictionary(t => tokens.IndexOf(t.Key), t => Rule(t.Key, t.Value, policy, vocabularies));
        var specials = AdditionalSpecialTokens(templateFolder, others.Prepend(baseVocabulary), present);
        return new OutputVocabulary(tokens, rows, tokenizer, templateFolder, newAdded, specials, vocabularies, settings,
            policy.BaseModel);
    }

    /// <summary>Resolves a <c>tokenizer.tokens</c> entry; the model it names must be part of the merge and have the token.</summary>
    private static TokenRule Rule(string token, TokenSettings settings, TokenizerPolicy policy,
        IReadOnlyDictionary<PlannedModel, ModelVocabulary> vocabularies)
    {
        switch (settings.Source)
        {
            case null:
                return new TokenRule(TokenRuleKind.Automatic, null, -1, settings.Force, settings.Location);
            case ZeroTokenSource:
                return new TokenRule(TokenRuleKind.Zero, null, -1, settings.Force, settings.Location);
            case ModelEmbeddingTokenSource same:
            {
                var model = policy.Resolve(same.Model);
                var row = vocabularies[model].RowOf(token);
                if (row < 0)
                {
                    throw new MergeBuildException(ErrorCodes.TokenNotFound,
                        $"token '{token}' takes its embedding from '{same.Model.Text}', which has no such token.",
                        same.Location, "Name a model whose tokenizer has the token, or use {kind: model_token, ...}.");
                }

                return new TokenRule(TokenRuleKind.SameToken, model, row, settings.Force, settings.Location);
            }

            case ModelTokenSource other:
            {
                var model = policy.Resolve(other.Model);
                var vocabulary = vocabularies[model];
                var row = other.TokenId ?? (vocabulary.Tokenizer.Vocabulary.TryGetValue(other.Token!, out var id) ? id : -1);
                if (row < 0 || row >= vocabulary.Rows)
                {
                    throw new MergeBuildException(ErrorCodes.TokenNotFound,
                        other.TokenId is null
                            ? $"token '{token}' takes its embedding from token '{other.Token}' of '{other.Model.Text}', which has no such token."
                            : $"token '{token}' takes its embedding from row {other.TokenId} of '{other.Model.Text}', which has {vocabulary.Rows} rows.",
                        other.Location, "Check the token or token_id against that model's tokenizer.json.");
                }

                return new TokenRule(TokenRuleKind.ModelRow, model, row, settings.Force, settings.Location);
            }

            default:
                throw new InvalidOperationException($"unknown token source {settings.Source.GetType().Name}");
        }
    }

    /// <summary>The template tokenizer's tokens by id; ids must run 0..n−1 for rows to line up with them.</summary>
    private static List<string> OrderedTokens(TokenizerJson tokenizer, TokenizerPolicy policy, string folder)
    {
        var ordered = tokenizer.Vocabulary.OrderBy(t => t.Value).ToList();
        for (var i = 0; i < ordered.Count; i++)
        {
            if (ordered[i].Value != i)
            {
                throw new MergeBuildException(ErrorCodes.TokenizerUnsupported,
                    $"the tokenizer of '{folder}' has no token with id {i} (ids must run from 0 without gaps to line " +
                    "up with embedding rows).", policy.Location, "Use another model's tokenizer as the source.");
            }
        }

        return ordered.Select(t => t.Key).ToList();
    }

    private static void WarnAboutDroppedTokens(TokenizerPolicy policy, IEnumerable<ModelVocabulary> vocabularies,
        HashSet<string> present, ICollection<string> warnings)
    {
        foreach (var vocabulary in vocabularies)
        {
            var dropped = vocabulary.Tokens.Keys.Where(t => !present.Contains(t)).OrderBy(vocabulary.RowOf).ToList();
            if (dropped.Count == 0)
            {
                continue;
            }

            var shown = string.Join(", ", dropped.Take(5).Select(t => $"'{t}'")) +
                        (dropped.Count > 5 ? $" and {dropped.Count - 5} more" : "");
            warnings.Add($"tokenizer source '{policy.SourceText}' drops {dropped.Count} token(s) of " +
                         $"'{vocabulary.Model.Reference.Text}' ({shown}): their embedding rows are not in the output. " +
                         "Use tokenizer_source: union to keep them.");
        }
    }

    /// <summary>Special tokens other models declare (special_tokens_map.json) that the output keeps and the template lacks.</summary>
    private static List<string> AdditionalSpecialTokens(string templateFolder, IEnumerable<ModelVocabulary> models,
        HashSet<string> present)
    {
        var template = SpecialTokensOf(templateFolder).ToHashSet(StringComparer.Ordinal);
        return models.SelectMany(m => SpecialTokensOf(m.Model.Path))
            .Where(t => present.Contains(t) && !template.Contains(t))
            .Distinct(StringComparer.Ordinal)
            .ToList();
    }

    internal static IEnumerable<string> SpecialTokensOf(string folder)
    {
        var file = Path.Combine(folder, TokenizerFileWriter.SpecialTokensMapFile);
        if (!File.Exists(file) || JsonNode.Parse(File.ReadAllText(file)) is not JsonObject map ||
            map["additional_special_tokens"] is not JsonArray list)
        {
            return [];
        }

        return list.Select(e => e switch
        {
            JsonValue value => value.GetValue<string>(),
            JsonObject entry => entry["content"]?.GetValue<string>(),
            _ => null,
        }).OfType<string>().ToList();
    }
}
