using MergeBuild.Diagnostics;
using MergeBuild.Planning;

namespace MergeBuild.Tokenizers;

/// <summary>
/// Stops a merge without a tokenizer setting whose models' vocabularies differ. mergekit truncates the embedding rows
/// silently and copies one tokenizer, so row i means different tokens in different inputs and the output is garbled.
/// </summary>
internal static class VocabularyCheck
{
    public static void RequireSameVocabulary(IReadOnlyList<PlannedModel> models)
    {
        var first = models[0];
        foreach (var model in models.Skip(1).Where(m => !SameSize(first, m)))
        {
            throw Mismatch(first, model, $"{Size(model)} tokens, '{first.Reference.Text}' has {Size(first)}");
        }

        // Same sizes can still hide different tokens; compare the tokenizers when every model has one.
        if (models.Any(m => !File.Exists(Path.Combine(m.Path, TokenizerJson.FileName))))
        {
            return;
        }

        var reference = ModelVocabulary.Load(first);
        foreach (var model in models.Skip(1))
        {
            var other = ModelVocabulary.Load(model);
            var differing = other.Tokens.FirstOrDefault(t => reference.RowOf(t.Key) != t.Value);
            if (differing.Key is null && other.Tokens.Count == reference.Tokens.Count)
            {
                continue;
            }

            var example = differing.Key ?? reference.Tokens.Keys.First(t => other.RowOf(t) < 0);
            throw Mismatch(first, model,
                $"{other.Tokens.Count} tokens, '{first.Reference.Text}' has {reference.Tokens.Count}, and token " +
                $"'{example}' has id {other.RowOf(example)} in one and {reference.RowOf(example)} in the other");
        }
    }

    private static bool SameSize(PlannedModel a, PlannedModel b) =>
        a.Folder.Config.VocabSize is not { } x || b.Folder.Config.VocabSize is not { } y || x == y;

    private static string Size(PlannedModel model) =>
        model.Folder.Config.VocabSize?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "?";

    private static MergeBuildException Mismatch(PlannedModel first, PlannedModel model, string detail) =>
        new(ErrorCodes.VocabularyMismatch,
            $"the vocabularies differ: '{model.Reference.Text}' has {detail}; merging embedding rows by index would mix " +
            "different tokens.", model.Reference.Location,
            "Choose a tokenizer policy: `tokenizer_source: union` keeps every model's tokens (new ones get ids after " +
            "the base model's), `tokenizer_source: base` keeps the base model's vocabulary and drops the " +
            "others' extra tokens; --truncate-embeddings cuts rows as mergekit does silently.");
}
