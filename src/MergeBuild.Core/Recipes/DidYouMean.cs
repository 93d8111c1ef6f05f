namespace MergeBuild.Recipes;

/// <summary>"Did you mean …?" suggestions for misspelt keys, method and parameter names.</summary>
public static class DidYouMean
{
    /// <summary>
    /// The candidate closest to <paramref name="input"/>, or null when nothing is close. Names are compared after
    /// normalising case and <c>-</c> to <c>_</c> (so <c>dare-ties</c> finds <c>dare_ties</c>); otherwise the
    /// edit distance (with transpositions) must be at most about a third of the input's length.
    /// </summary>
    public static string? Suggest(string input, IEnumerable<string> candidates)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(candidates);
        var wanted = Normalise(input);
        if (wanted.Length == 0)
        {
            return null;
        }

        var limit = Math.Max(1, (wanted.Length + 1) / 3);
        string? best = null;
        var bestDistance = int.MaxValue;
        foreach (var candidate in candidates)
        {
            // The distance is at least the difference in length, so a candidate that far off cannot be suggested;
            // skipping it keeps a hostile 64 KB "method name" from costing length × candidates (found by fuzzing).
            var normalised = Normalise(candidate);
            if (Math.Abs(normalised.Length - wanted.Length) > limit)
            {
                continue;
            }

            var distance = Distance(wanted, normalised);
            if (distance < bestDistance)
            {
                best = candidate;
                bestDistance = distance;
            }
        }

        return bestDistance <= limit ? best : null;
    }

    private static string Normalise(string name) => name.Trim().Replace('-', '_').ToLowerInvariant();

    /// <summary>Optimal-string-alignment distance: Levenshtein plus adjacent transpositions ("wieght" → "weight" is 1).</summary>
    private static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++)
        {
            d[i, 0] = i;
        }

        for (var j = 0; j <= b.Length; j++)
        {
            d[0, j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                {
                    d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
                }
            }
        }

        return d[a.Length, b.Length];
    }
}
