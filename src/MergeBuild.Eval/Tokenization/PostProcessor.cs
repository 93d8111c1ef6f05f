using System.Text.Json;

namespace MergeBuild.Eval.Tokenization;

/// <summary>
/// The special tokens a tokenizer.json's <c>post_processor</c> puts around a single sequence when special tokens are
/// requested: TemplateProcessing (its <c>single</c> template), RobertaProcessing / BertProcessing (cls … sep),
/// ByteLevel (offsets only: nothing) and Sequence (each wraps the result of the previous).
/// </summary>
internal sealed record PostProcessor(IReadOnlyList<int> Prefix, IReadOnlyList<int> Suffix)
{
    private const string Supported = "TemplateProcessing, RobertaProcessing, BertProcessing, ByteLevel, Sequence";

    public static readonly PostProcessor None = new([], []);

    public static PostProcessor Create(JsonElement element, TokenizerJson json)
    {
        if (TokenizerJson.IsNull(element))
        {
            return None;
        }

        var type = TokenizerJson.TypeOf(element);
        switch (type)
        {
            case "ByteLevel":
                return None;
            case "TemplateProcessing":
                return Template(element, json);
            case "RobertaProcessing" or "BertProcessing":
                return new PostProcessor([TokenId(element, "cls", json)], [TokenId(element, "sep", json)]);
            case "Sequence":
                var prefix = new List<int>();
                var suffix = new List<int>();
                foreach (var step in json.Array(element, "processors").Select(e => Create(e, json)))
                {
                    prefix.InsertRange(0, step.Prefix);
                    suffix.AddRange(step.Suffix);
                }

                return new PostProcessor(prefix, suffix);
            default:
                throw json.Unsupported("post-processor", type, Supported);
        }
    }

    // "single": [{"SpecialToken": {"id": "<bos>"}}, {"Sequence": {"id": "A"}}, ...]; special tokens map a name to ids.
    private static PostProcessor Template(JsonElement element, TokenizerJson json)
    {
        var specials = TokenizerJson.Property(element, "special_tokens");
        var prefix = new List<int>();
        var suffix = new List<int>();
        var seenSequence = false;
        foreach (var item in json.Array(element, "single"))
        {
            // Property, not TryGetProperty: an item that is not an object must be a malformed-file error (fuzzing).
            if (TokenizerJson.Property(item, "Sequence").ValueKind != JsonValueKind.Undefined)
            {
                seenSequence = true;
                continue;
            }

            var name = json.String(TokenizerJson.Property(item, "SpecialToken"), "id");
            var entry = TokenizerJson.Property(specials, name);
            var ids = json.Array(entry, "ids").Select(id => id.ValueKind == JsonValueKind.Number && id.TryGetInt32(out var n)
                ? n
                : throw json.Malformed($"special token '{name}' has a non-integer id.")).ToArray();
            (seenSequence ? suffix : prefix).AddRange(ids);
        }

        return new PostProcessor(prefix, suffix);
    }

    private static int TokenId(JsonElement element, string name, TokenizerJson json)
    {
        // ["<s>", 0]
        var pair = TokenizerJson.Property(element, name);
        return pair.ValueKind == JsonValueKind.Array && pair.GetArrayLength() == 2 &&
                     pair[1].ValueKind == JsonValueKind.Number && pair[1].TryGetInt32(out var id)
            ? id
            : throw json.Malformed($"post_processor.{name} must be [token, id].");
    }
}
