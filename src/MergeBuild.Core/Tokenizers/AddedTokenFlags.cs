using System.Text.Json.Nodes;

namespace MergeBuild.Tokenizers;

/// <summary>How an added token is matched and whether it is special (the flags of an <c>added_tokens</c> entry).</summary>
public sealed record AddedTokenFlags(bool SingleWord, bool LStrip, bool RStrip, bool Normalized, bool Special)
{
    /// <summary>
    /// What transformers' <c>add_tokens("text")</c> gives a plain string: a normalized, non-special token. mergekit adds
    /// other models' regular vocabulary entries, and the recipe's extra tokens, this way.
    /// </summary>
    public static readonly AddedTokenFlags Plain = new(false, false, false, true, false);

    public static AddedTokenFlags From(JsonObject entry) => new(
        Flag(entry, "single_word", false), Flag(entry, "lstrip", false), Flag(entry, "rstrip", false),
        Flag(entry, "normalized", true), Flag(entry, "special", false));

    /// <summary>The entry of <c>added_tokens_decoder</c> in tokenizer_config.json (transformers writes keys sorted).</summary>
    public JsonObject ToDecoderEntry(string content) => new()
    {
        ["content"] = content,
        ["lstrip"] = LStrip,
        ["normalized"] = Normalized,
        ["rstrip"] = RStrip,
        ["single_word"] = SingleWord,
        ["special"] = Special,
    };

    private static bool Flag(JsonObject entry, string name, bool fallback) =>
        entry[name] is JsonValue value && value.TryGetValue(out bool b) ? b : fallback;
}
