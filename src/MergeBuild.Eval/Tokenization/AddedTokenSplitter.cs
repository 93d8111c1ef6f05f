namespace MergeBuild.Eval.Tokenization;

/// <summary>A run of the input: either an added token (its id) or ordinary text to normalise and tokenize.</summary>
internal readonly record struct Segment(string Text, int? AddedId, bool AtStart);

/// <summary>
/// Splits text around added tokens as tokenizers does: scanning left to right, at each position the longest added
/// token that starts there is taken; text between matches is ordinary. Matching is on the raw text (tokens marked
/// <c>normalized</c> are matched the same way, which differs from tokenizers only when a normalizer changes them).
/// </summary>
internal sealed class AddedTokenSplitter
{
    private readonly Dictionary<char, AddedToken[]> _byFirstChar;

    public AddedTokenSplitter(IEnumerable<AddedToken> tokens)
    {
        _byFirstChar = tokens.Where(t => t.Content.Length > 0)
            .GroupBy(t => t.Content[0])
            .ToDictionary(g => g.Key, g => g.OrderByDescending(t => t.Content.Length).ToArray());
    }

    public List<Segment> Split(string text)
    {
        var segments = new List<Segment>();
        var plainStart = 0;
        var i = 0;
        while (i < text.Length)
        {
            if (!TryMatch(text, i, out var token))
            {
                i++;
                continue;
            }

            var matchStart = i;
            var matchEnd = i + token.Content.Length;
            if (token.LStrip)
            {
                while (matchStart > plainStart && char.IsWhiteSpace(text[matchStart - 1]))
                {
                    matchStart--;
                }
            }

            if (token.RStrip)
            {
                while (matchEnd < text.Length && char.IsWhiteSpace(text[matchEnd]))
                {
                    matchEnd++;
                }
            }

            if (matchStart > plainStart)
            {
                segments.Add(new Segment(text[plainStart..matchStart], null, plainStart == 0));
            }

            segments.Add(new Segment(token.Content, token.Id, matchStart == 0));
            plainStart = i = matchEnd;
        }

        if (plainStart < text.Length)
        {
            segments.Add(new Segment(text[plainStart..], null, plainStart == 0));
        }

        return segments;
    }

    private bool TryMatch(string text, int position, out AddedToken token)
    {
        if (_byFirstChar.TryGetValue(text[position], out var candidates))
        {
            foreach (var candidate in candidates)
            {
                if (text.AsSpan(position).StartsWith(candidate.Content, StringComparison.Ordinal))
                {
                    token = candidate;
                    return true;
                }
            }
        }

        token = null!;
        return false;
    }
}
