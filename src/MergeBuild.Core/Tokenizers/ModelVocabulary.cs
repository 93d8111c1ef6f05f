using MergeBuild.Planning;

namespace MergeBuild.Tokenizers;

/// <summary>
/// One input model's vocabulary as the merge sees it: its tokenizer file and the tokens that have an embedding row
/// (ids below the config's <c>vocab_size</c>; the rest are tokenizer entries the matrix has no row for).
/// </summary>
public sealed class ModelVocabulary
{
    private ModelVocabulary(PlannedModel model, TokenizerJson tokenizer, int rows)
    {
        Model = model;
        Tokenizer = tokenizer;
        Rows = rows;
        var all = tokenizer.Vocabulary;
        Tokens = all.Where(t => t.Value < rows).ToDictionary(t => t.Key, t => t.Value, StringComparer.Ordinal);
        var added = tokenizer.AddedTokens
            .Select(e => e["content"]?.GetValue<string>())
            .OfType<string>()
            .ToHashSet(StringComparer.Ordinal);
        AddedTokens = Tokens.Where(t => added.Contains(t.Key)).OrderBy(t => t.Value).Select(t => t.Key).ToList();
        RegularTokens = Tokens.Where(t => !added.Contains(t.Key)).OrderBy(t => t.Value).Select(t => t.Key).ToList();
    }

    public PlannedModel Model { get; }

    public TokenizerJson Tokenizer { get; }

    /// <summary>The number of embedding rows: config <c>vocab_size</c>, else the tokenizer's size.</summary>
    public int Rows { get; }

    /// <summary>Tokens with a row, and that row.</summary>
    public IReadOnlyDictionary<string, int> Tokens { get; }

    /// <summary>Tokens with a row that are <c>added_tokens</c> entries, in id order.</summary>
    public IReadOnlyList<string> AddedTokens { get; }

    /// <summary>Tokens with a row that belong to the tokenizer model's own vocabulary, in id order.</summary>
    public IReadOnlyList<string> RegularTokens { get; }

    public static ModelVocabulary Load(PlannedModel model)
    {
        var tokenizer = TokenizerJson.Load(model.Path, model.Reference.Text);
        var rows = model.Folder.Config.VocabSize ?? tokenizer.Vocabulary.Count;
        return new ModelVocabulary(model, tokenizer, rows);
    }

    /// <summary>The token's row in this model, or −1 when it has none.</summary>
    public int RowOf(string token) => Tokens.TryGetValue(token, out var row) ? row : -1;
}
