using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace MergeBuild.Eval.Tokenization;

/// <summary>
/// The <c>normalizer</c> of a tokenizer.json, applied to each stretch of ordinary text: Sequence, Prepend, Replace,
/// Strip, Lowercase and the Unicode forms NFC/NFD/NFKC/NFKD.
/// </summary>
internal abstract class Normalizer
{
    private const string Supported = "Sequence, Prepend, Replace, Strip, Lowercase, NFC, NFD, NFKC, NFKD";

    public abstract string Normalize(string text);

    /// <summary>Builds the normalizer described by <paramref name="element"/>, or null for JSON null.</summary>
    public static Normalizer? Create(JsonElement element, TokenizerJson json)
    {
        if (TokenizerJson.IsNull(element))
        {
            return null;
        }

        var type = TokenizerJson.TypeOf(element);
        return type switch
        {
            "Sequence" => new SequenceNormalizer(
                json.Array(element, "normalizers").Select(e => Create(e, json)).OfType<Normalizer>().ToArray()),
            "Prepend" => Prepend(json.String(element, "prepend")),
            "Replace" => Replace(json.Pattern(element, "pattern"), json.String(element, "content")),
            "Strip" => Strip(TokenizerJson.Bool(element, "strip_left", true),
                TokenizerJson.Bool(element, "strip_right", true)),
            "Lowercase" => new Delegated(text => text.ToLowerInvariant()),
            "NFC" => new Delegated(text => text.Normalize(NormalizationForm.FormC)),
            "NFD" => new Delegated(text => text.Normalize(NormalizationForm.FormD)),
            "NFKC" => new Delegated(text => text.Normalize(NormalizationForm.FormKC)),
            "NFKD" => new Delegated(text => text.Normalize(NormalizationForm.FormKD)),
            _ => throw json.Unsupported("normalizer", type, Supported),
        };
    }

    // Read eagerly: the JSON document is disposed once the tokenizer is built.
    private static Delegated Prepend(string prefix) => new(text => text.Length == 0 ? text : prefix + text);

    private static Delegated Replace(Regex pattern, string content) => new(text => pattern.Replace(text, content));

    private static Delegated Strip(bool left, bool right) =>
        new(text => (left, right) switch
        {
            (true, true) => text.Trim(),
            (true, false) => text.TrimStart(),
            (false, true) => text.TrimEnd(),
            _ => text,
        });

    private sealed class Delegated(Func<string, string> normalize) : Normalizer
    {
        public override string Normalize(string text) => normalize(text);
    }

    private sealed class SequenceNormalizer(Normalizer[] steps) : Normalizer
    {
        public override string Normalize(string text) => steps.Aggregate(text, (current, step) => step.Normalize(current));
    }
}
