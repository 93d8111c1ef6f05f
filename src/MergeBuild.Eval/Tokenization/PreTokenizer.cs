using System.Text.Json;
using System.Text.RegularExpressions;

namespace MergeBuild.Eval.Tokenization;

/// <summary>A piece of text on its way to the model; <see cref="AtStart"/> marks the start of the input.</summary>
internal readonly record struct Piece(string Text, bool AtStart);

/// <summary>
/// The <c>pre_tokenizer</c> of a tokenizer.json: splits normalised text into the pieces the model tokenizes one
/// by one. Supports Sequence, Split, ByteLevel, Metaspace, Digits, Whitespace and WhitespaceSplit.
/// </summary>
internal abstract class PreTokenizer
{
    private const string Supported = "Sequence, Split, ByteLevel, Metaspace, Digits, Whitespace, WhitespaceSplit";

    /// <summary>Appends the pieces <paramref name="piece"/> splits into to <paramref name="output"/>.</summary>
    public abstract void Split(Piece piece, List<Piece> output);

    /// <summary>Splits every piece of <paramref name="pieces"/>.</summary>
    public List<Piece> SplitAll(IEnumerable<Piece> pieces)
    {
        var output = new List<Piece>();
        foreach (var piece in pieces)
        {
            Split(piece, output);
        }

        return output;
    }

    /// <summary>Builds the pre-tokenizer described by <paramref name="element"/>, or null for JSON null.</summary>
    public static PreTokenizer? Create(JsonElement element, TokenizerJson json)
    {
        if (TokenizerJson.IsNull(element))
        {
            return null;
        }

        var type = TokenizerJson.TypeOf(element);
        return type switch
        {
            "Sequence" => new SequencePreTokenizer(
                json.Array(element, "pretokenizers").Select(e => Create(e, json)).OfType<PreTokenizer>().ToArray()),
            "Split" => new RegexPreTokenizer(json.Pattern(element, "pattern"),
                RegexPreTokenizer.ParseBehavior(json.String(element, "behavior"), json),
                TokenizerJson.Bool(element, "invert", false)),
            "ByteLevel" => new ByteLevelPreTokenizer(TokenizerJson.Bool(element, "add_prefix_space", true),
                TokenizerJson.Bool(element, "use_regex", true)),
            "Metaspace" => MetaspacePreTokenizer.FromJson(element, json),
            "Digits" => TokenizerJson.Bool(element, "individual_digits", false)
                ? new RegexPreTokenizer(new Regex(@"\p{N}"), SplitBehavior.Isolated, false)
                : new RegexPreTokenizer(new Regex(@"\p{N}+"), SplitBehavior.Isolated, false),
            // tokenizers' Whitespace keeps runs of word characters and runs of other non-space characters.
            "Whitespace" => new RegexPreTokenizer(new Regex(@"\w+|[^\w\s]+"), SplitBehavior.Removed, true),
            "WhitespaceSplit" => new RegexPreTokenizer(new Regex(@"\s+"), SplitBehavior.Removed, false),
            _ => throw json.Unsupported("pre-tokenizer", type, Supported),
        };
    }

    private sealed class SequencePreTokenizer(PreTokenizer[] steps) : PreTokenizer
    {
        public override void Split(Piece piece, List<Piece> output)
        {
            IEnumerable<Piece> pieces = [piece];
            foreach (var step in steps)
            {
                pieces = step.SplitAll(pieces);
            }

            output.AddRange(pieces);
        }
    }
}
