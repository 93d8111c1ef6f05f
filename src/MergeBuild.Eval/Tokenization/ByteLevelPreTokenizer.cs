using System.Text.RegularExpressions;

namespace MergeBuild.Eval.Tokenization;

/// <summary>
/// tokenizers' <c>ByteLevel</c> pre-tokenizer: optionally prefixes a space, optionally splits with GPT-2's pattern,
/// then rewrites every piece's UTF-8 bytes in the <see cref="ByteLevelAlphabet"/>.
/// </summary>
internal sealed partial class ByteLevelPreTokenizer(bool addPrefixSpace, bool useRegex) : PreTokenizer
{
    public override void Split(Piece piece, List<Piece> output)
    {
        var text = addPrefixSpace && !piece.Text.StartsWith(' ') ? " " + piece.Text : piece.Text;
        if (!useRegex)
        {
            output.Add(piece with { Text = ByteLevelAlphabet.Encode(text) });
            return;
        }

        var first = true;
        foreach (Match match in Gpt2Pattern().Matches(text))
        {
            output.Add(new Piece(ByteLevelAlphabet.Encode(match.Value), piece.AtStart && first));
            first = false;
        }
    }

    // GPT-2's pre-tokenization pattern, as in tokenizers' byte_level.rs. The final \s+ alternative makes the
    // matches cover the whole text.
    [GeneratedRegex(@"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+",
        RegexOptions.CultureInvariant)]
    private static partial Regex Gpt2Pattern();
}
