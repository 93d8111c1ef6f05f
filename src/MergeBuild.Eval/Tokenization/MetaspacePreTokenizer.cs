using System.Text.Json;

namespace MergeBuild.Eval.Tokenization;

/// <summary>When Metaspace puts its replacement character in front of a piece.</summary>
internal enum PrependScheme
{
    Always,
    First,
    Never,
}

/// <summary>
/// tokenizers' <c>Metaspace</c> pre-tokenizer (SentencePiece style): spaces become '▁', a '▁' is prepended (always,
/// only at the start of the input, or never), and optionally the text is split before each '▁'.
/// </summary>
internal sealed class MetaspacePreTokenizer(char replacement, PrependScheme scheme, bool split) : PreTokenizer
{
    public static MetaspacePreTokenizer FromJson(JsonElement element, TokenizerJson json)
    {
        var replacement = TokenizerJson.OptionalString(element, "replacement") ?? "▁";
        if (replacement.Length != 1)
        {
            throw json.Malformed("Metaspace replacement must be one character.");
        }

        return new MetaspacePreTokenizer(replacement[0], ParseScheme(element, json),
            TokenizerJson.Bool(element, "split", true));
    }

    /// <summary>prepend_scheme, or for older files add_prefix_space (true = always).</summary>
    public static PrependScheme ParseScheme(JsonElement element, TokenizerJson json) =>
        TokenizerJson.OptionalString(element, "prepend_scheme") switch
        {
            "always" => PrependScheme.Always,
            "first" => PrependScheme.First,
            "never" => PrependScheme.Never,
            null => TokenizerJson.Bool(element, "add_prefix_space", true) ? PrependScheme.Always : PrependScheme.Never,
            var other => throw json.Malformed($"unknown Metaspace prepend_scheme '{other}'."),
        };

    public override void Split(Piece piece, List<Piece> output)
    {
        var text = piece.Text.Replace(' ', replacement);
        var prepend = scheme == PrependScheme.Always || (scheme == PrependScheme.First && piece.AtStart);
        if (prepend && !text.StartsWith(replacement))
        {
            text = replacement + text;
        }

        if (!split)
        {
            output.Add(piece with { Text = text });
            return;
        }

        // Each '▁' starts a new piece (tokenizers' MergedWithNext).
        var start = 0;
        for (var i = 1; i <= text.Length; i++)
        {
            if (i == text.Length || text[i] == replacement)
            {
                output.Add(new Piece(text[start..i], piece.AtStart && start == 0));
                start = i;
            }
        }
    }
}
