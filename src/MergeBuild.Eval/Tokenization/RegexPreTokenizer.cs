using System.Text.RegularExpressions;

namespace MergeBuild.Eval.Tokenization;

/// <summary>What a split does with the text a pattern matches (tokenizers' SplitDelimiterBehavior).</summary>
internal enum SplitBehavior
{
    Removed,
    Isolated,
    MergedWithPrevious,
    MergedWithNext,
    Contiguous,
}

/// <summary>
/// tokenizers' <c>Split</c> pre-tokenizer: the matches of a regular expression (or, inverted, the text between
/// them) are delimiters that are dropped, kept as their own pieces, or attached to a neighbour.
/// </summary>
internal sealed class RegexPreTokenizer(Regex pattern, SplitBehavior behavior, bool invert) : PreTokenizer
{
    public static SplitBehavior ParseBehavior(string name, TokenizerJson json) => name switch
    {
        "Removed" => SplitBehavior.Removed,
        "Isolated" => SplitBehavior.Isolated,
        "MergedWithPrevious" => SplitBehavior.MergedWithPrevious,
        "MergedWithNext" => SplitBehavior.MergedWithNext,
        "Contiguous" => SplitBehavior.Contiguous,
        _ => throw json.Malformed($"unknown split behavior '{name}'."),
    };

    public override void Split(Piece piece, List<Piece> output)
    {
        var text = piece.Text;
        var spans = new List<(int Start, int End, bool Delimiter)>();
        var position = 0;
        foreach (Match match in pattern.Matches(text))
        {
            if (match.Length == 0)
            {
                continue;
            }

            if (match.Index > position)
            {
                spans.Add((position, match.Index, invert));
            }

            spans.Add((match.Index, match.Index + match.Length, !invert));
            position = match.Index + match.Length;
        }

        if (position < text.Length)
        {
            spans.Add((position, text.Length, invert));
        }

        var pieces = Combine(spans, behavior);

        foreach (var (start, end) in pieces)
        {
            output.Add(new Piece(text[start..end], piece.AtStart && start == 0));
        }
    }

    // The folds of tokenizers' NormalizedString::split: a delimiter merges into a neighbour only when that
    // neighbour is not itself a delimiter, so "▁▁a" split on "▁" merged with next gives "▁", "▁a".
    private static List<(int Start, int End)> Combine(List<(int Start, int End, bool Delimiter)> spans,
        SplitBehavior behavior)
    {
        var pieces = new List<(int Start, int End)>();
        switch (behavior)
        {
            case SplitBehavior.Removed:
                pieces.AddRange(spans.Where(s => !s.Delimiter).Select(s => (s.Start, s.End)));
                break;
            case SplitBehavior.Isolated:
                pieces.AddRange(spans.Select(s => (s.Start, s.End)));
                break;
            case SplitBehavior.MergedWithPrevious:
                for (var i = 0; i < spans.Count; i++)
                {
                    var merge = spans[i].Delimiter && i > 0 && !spans[i - 1].Delimiter;
                    Append(pieces, spans[i], merge, atEnd: true);
                }

                break;
            case SplitBehavior.MergedWithNext:
                for (var i = spans.Count - 1; i >= 0; i--)
                {
                    var merge = spans[i].Delimiter && i < spans.Count - 1 && !spans[i + 1].Delimiter;
                    Append(pieces, spans[i], merge, atEnd: false);
                }

                pieces.Reverse();
                break;
            case SplitBehavior.Contiguous:
                for (var i = 0; i < spans.Count; i++)
                {
                    var merge = i > 0 && spans[i].Delimiter == spans[i - 1].Delimiter;
                    Append(pieces, spans[i], merge, atEnd: true);
                }

                break;
        }

        return pieces;
    }

    private static void Append(List<(int Start, int End)> pieces, (int Start, int End, bool Delimiter) span,
        bool merge, bool atEnd)
    {
        if (!merge || pieces.Count == 0)
        {
            pieces.Add((span.Start, span.End));
        }
        else if (atEnd)
        {
            pieces[^1] = (pieces[^1].Start, span.End);
        }
        else
        {
            pieces[^1] = (span.Start, pieces[^1].End);
        }
    }
}
