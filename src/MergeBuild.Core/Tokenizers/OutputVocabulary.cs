using MergeBuild.Planning;

namespace MergeBuild.Tokenizers;

/// <summary>
/// The merged model's vocabulary: its tokens by id, the number of embedding rows (padded), and for every input model
/// the permutation new id → that model's row, which the executor uses to re-index each embedding-like matrix before
/// the merge method runs.
/// </summary>
public sealed class OutputVocabulary
{
    internal OutputVocabulary(IReadOnlyList<string> tokens, int rows, TokenizerJson tokenizer, string templateFolder,
        IReadOnlyList<string> newAddedTokens, IReadOnlyList<string> additionalSpecialTokens,
        IReadOnlyDictionary<PlannedModel, ModelVocabulary> models, IReadOnlyDictionary<int, TokenRule> settings,
        PlannedModel? baseModel)
    {
        Tokens = tokens;
        Rows = rows;
        Tokenizer = tokenizer;
        TemplateFolder = templateFolder;
        NewAddedTokens = newAddedTokens;
        AdditionalSpecialTokens = additionalSpecialTokens;
        Models = models;
        Settings = settings;
        BaseModel = baseModel;
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < tokens.Count; i++)
        {
            ids[tokens[i]] = i;
        }

        Ids = ids;
        Permutations = models.ToDictionary(m => m.Key, m => tokens.Select(m.Value.RowOf).ToArray());
    }

    /// <summary>The output tokens; a token's position is its id.</summary>
    public IReadOnlyList<string> Tokens { get; }

    public IReadOnlyDictionary<string, int> Ids { get; }

    /// <summary>Embedding rows of the output (<see cref="Tokens"/> rounded up to <c>pad_to_multiple_of</c>); its config vocab_size.</summary>
    public int Rows { get; }

    /// <summary>The output tokenizer.json.</summary>
    public TokenizerJson Tokenizer { get; }

    /// <summary>The folder whose tokenizer_config.json and special_tokens_map.json the output's are derived from.</summary>
    public string TemplateFolder { get; }

    /// <summary>Added tokens the output has beyond the template's, in id order (for tokenizer_config.json).</summary>
    public IReadOnlyList<string> NewAddedTokens { get; }

    /// <summary>Other models' <c>additional_special_tokens</c> that the output keeps and the template lacks.</summary>
    public IReadOnlyList<string> AdditionalSpecialTokens { get; }

    /// <summary>Every input model's vocabulary.</summary>
    public IReadOnlyDictionary<PlannedModel, ModelVocabulary> Models { get; }

    /// <summary>Per model: for each output id, the model's row for that token, or −1 when the model lacks it.</summary>
    public IReadOnlyDictionary<PlannedModel, int[]> Permutations { get; }

    /// <summary>The recipe's <c>tokenizer.tokens</c> settings, by output id.</summary>
    public IReadOnlyDictionary<int, TokenRule> Settings { get; }

    /// <summary>The recipe's base model: its row is the default for tokens several models share.</summary>
    public PlannedModel? BaseModel { get; }
}
