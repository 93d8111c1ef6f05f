using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using MergeBuild.Diagnostics;

namespace MergeBuild.Tokenizers;

/// <summary>
/// A Hugging Face <c>tokenizer.json</c> held as a JSON tree, so that everything this code does not change (normalizer,
/// pre-tokenizer, BPE merges, post-processor) is written back as it was. Only the vocabulary is touched: tokens past
/// the model's <c>vocab_size</c> are stripped, and new tokens are appended to <c>added_tokens</c>.
/// </summary>
public sealed class TokenizerJson
{
    public const string FileName = "tokenizer.json";

    internal static readonly JsonSerializerOptions Indented = new()
    {
        WriteIndented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    private readonly JsonObject root;
    private readonly string path;

    private TokenizerJson(JsonObject root, string path)
    {
        this.root = root;
        this.path = path;
    }

    /// <summary>Every token with its id: the model's vocabulary and the added tokens (what <c>get_vocab()</c> returns).</summary>
    public IReadOnlyDictionary<string, int> Vocabulary => BuildVocabulary();

    /// <summary>The <c>added_tokens</c> entries, in file order.</summary>
    public IReadOnlyList<JsonObject> AddedTokens =>
        root["added_tokens"] is JsonArray added ? added.OfType<JsonObject>().ToList() : [];

    /// <summary>Reads <c>tokenizer.json</c> from a model folder.</summary>
    public static TokenizerJson Load(string modelFolder, string modelName)
    {
        var file = Path.Combine(modelFolder, FileName);
        if (!File.Exists(file))
        {
            throw new MergeBuildException(ErrorCodes.TokenizerUnsupported,
                $"'{modelName}' has no {FileName}; merging vocabularies reads every model's fast tokenizer file.",
                new SourceLocation(file),
                "Save the model's tokenizer with a fast tokenizer (tokenizer.save_pretrained) or remove the tokenizer setting.");
        }

        JsonNode? node;
        try
        {
            node = JsonNode.Parse(File.ReadAllText(file));
        }
        catch (JsonException e)
        {
            throw new MergeBuildException(ErrorCodes.TokenizerUnsupported, $"{FileName} is not valid JSON: {e.Message}",
                new SourceLocation(file, (int)(e.LineNumber ?? -1) + 1), "Re-save the tokenizer.", e);
        }

        if (node is not JsonObject obj || obj["model"] is not JsonObject model ||
            model["vocab"] is not (JsonObject or JsonArray))
        {
            throw new MergeBuildException(ErrorCodes.TokenizerUnsupported,
                $"{FileName} of '{modelName}' has no model.vocab this version can read.", new SourceLocation(file),
                "Tokenizer merging supports BPE, WordLevel, WordPiece and Unigram tokenizer.json files.");
        }

        return new TokenizerJson(obj, file);
    }

    /// <summary>A deep copy that can be changed without touching this one.</summary>
    public TokenizerJson Clone() => new((JsonObject)root.DeepClone(), path);

    /// <summary>
    /// Removes every token whose id is at least <paramref name="vocabSize"/> (mergekit strips tokens the embedding
    /// matrix has no row for), with the BPE merges that produce them.
    /// </summary>
    public void Strip(int vocabSize)
    {
        var removed = new HashSet<string>(StringComparer.Ordinal);
        var model = (JsonObject)root["model"]!;
        switch (model["vocab"])
        {
            case JsonObject vocab:
                foreach (var (token, id) in vocab.ToList())
                {
                    if (IdOf(id) >= vocabSize)
                    {
                        vocab.Remove(token);
                        removed.Add(token);
                    }
                }

                break;
            case JsonArray pieces:
                // Unigram: the id is the position, so cutting the list keeps every remaining id.
                while (pieces.Count > vocabSize)
                {
                    removed.Add(UnigramPiece(pieces[^1]));
                    pieces.RemoveAt(pieces.Count - 1);
                }

                break;
        }

        if (root["added_tokens"] is JsonArray added)
        {
            foreach (var entry in added.OfType<JsonObject>().Where(e => IdOf(e["id"]) >= vocabSize).ToList())
            {
                removed.Add(entry["content"]?.GetValue<string>() ?? "");
                added.Remove(entry);
            }
        }

        if (removed.Count > 0 && model["merges"] is JsonArray merges)
        {
            // A merge must go when a part or its product is gone: the tokenizers library refuses a merge whose
            // product is not in the vocabulary (mergekit only checks the parts).
            foreach (var merge in merges.ToList().Where(m =>
                         MergeParts(m).Any(removed.Contains) || removed.Contains(string.Concat(MergeParts(m)))))
            {
                merges.Remove(merge);
            }
        }
    }

    /// <summary>Appends an <c>added_tokens</c> entry with the given id; the entry's other fields are kept as given.</summary>
    public void AddToken(string content, int id, AddedTokenFlags flags)
    {
        if (root["added_tokens"] is not JsonArray added)
        {
            root["added_tokens"] = added = [];
        }

        // Field order as the tokenizers library writes it, so the file reads like one it saved.
        added.Add(new JsonObject
        {
            ["id"] = id,
            ["content"] = content,
            ["single_word"] = flags.SingleWord,
            ["lstrip"] = flags.LStrip,
            ["rstrip"] = flags.RStrip,
            ["normalized"] = flags.Normalized,
            ["special"] = flags.Special,
        });
    }

    /// <summary>The settings of an added token, or null when the token is a regular vocabulary entry.</summary>
    public AddedTokenFlags? FlagsOf(string token)
    {
        var entry = AddedTokens.FirstOrDefault(e => e["content"]?.GetValue<string>() == token);
        return entry is null ? null : AddedTokenFlags.From(entry);
    }

    public string ToJson() => root.ToJsonString(Indented) + "\n";

    private Dictionary<string, int> BuildVocabulary()
    {
        var result = new Dictionary<string, int>(StringComparer.Ordinal);
        switch (root["model"]!["vocab"])
        {
            case JsonObject vocab:
                foreach (var (token, id) in vocab)
                {
                    result[token] = IdOf(id);
                }

                break;
            case JsonArray pieces:
                for (var i = 0; i < pieces.Count; i++)
                {
                    result.TryAdd(UnigramPiece(pieces[i]), i);
                }

                break;
        }

        foreach (var entry in AddedTokens)
        {
            if (entry["content"]?.GetValue<string>() is { } content)
            {
                result[content] = IdOf(entry["id"]);
            }
        }

        return result;
    }

    private int IdOf(JsonNode? node)
    {
        if (node is JsonValue value && value.TryGetValue(out int id))
        {
            return id;
        }

        throw new MergeBuildException(ErrorCodes.TokenizerUnsupported, $"{FileName} has a token id that is not an integer.",
            new SourceLocation(path), "Re-save the tokenizer.");
    }

    private static string UnigramPiece(JsonNode? node) =>
        node is JsonArray { Count: > 0 } pair ? pair[0]?.GetValue<string>() ?? "" : "";

    /// <summary>The two tokens of a BPE merge, written either as "a b" or as ["a", "b"].</summary>
    private static IEnumerable<string> MergeParts(JsonNode? merge) => merge switch
    {
        JsonArray pair => pair.Select(p => p?.GetValue<string>() ?? ""),
        JsonValue text => text.GetValue<string>().Split(' '),
        _ => [],
    };
}
