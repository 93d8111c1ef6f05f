using System.Text.Json;

namespace MergeBuild.Eval.Tokenization;

/// <summary>The <c>model</c> of a tokenizer.json: turns one pre-tokenized piece into ids. WordLevel and BPE.</summary>
internal abstract class TokenModel
{
    protected TokenModel(Dictionary<string, int> vocabulary)
    {
        Vocabulary = vocabulary;
        IdToToken = new Dictionary<int, string>();
        foreach (var (token, id) in vocabulary)
        {
            IdToToken.TryAdd(id, token);
        }
    }

    public Dictionary<string, int> Vocabulary { get; }

    public Dictionary<int, string> IdToToken { get; }

    public abstract void Tokenize(string piece, List<int> output);

    public static TokenModel Create(JsonElement element, TokenizerJson json)
    {
        var type = TokenizerJson.TypeOf(element);
        return type switch
        {
            "WordLevel" => new WordLevelModel(ReadVocabulary(element, json),
                TokenizerJson.OptionalString(element, "unk_token"), json),
            "BPE" => BpeModel.Create(element, ReadVocabulary(element, json), json),
            null when TokenizerJson.Property(element, "merges").ValueKind == JsonValueKind.Array =>
                BpeModel.Create(element, ReadVocabulary(element, json), json),
            _ => throw json.Unsupported("model", type, "BPE, WordLevel"),
        };
    }

    private static Dictionary<string, int> ReadVocabulary(JsonElement element, TokenizerJson json)
    {
        var vocab = TokenizerJson.Property(element, "vocab");
        if (vocab.ValueKind != JsonValueKind.Object)
        {
            throw json.Malformed("model.vocab must be an object of token → id.");
        }

        var result = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var entry in vocab.EnumerateObject())
        {
            if (entry.Value.ValueKind != JsonValueKind.Number || !entry.Value.TryGetInt32(out var id) || id < 0)
            {
                throw json.Malformed($"model.vocab['{entry.Name}'] must be a non-negative integer.");
            }

            result[entry.Name] = id;
        }

        return result;
    }
}
