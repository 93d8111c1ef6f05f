using System.Globalization;
using MergeBuild.Diagnostics;

namespace MergeBuild.Execution;

/// <summary>
/// Parses a memory amount (<c>--memory-budget</c>): a whole number of bytes, optionally followed by K, M, G or T
/// (binary units, ×1024 each, as memory is sized) and an optional "B" or "iB", in any case: <c>512M</c>,
/// <c>2GiB</c>, <c>1g</c>, <c>1073741824</c>.
/// </summary>
public static class MemorySize
{
    public static long Parse(string text, string option)
    {
        ArgumentNullException.ThrowIfNull(text);
        var rest = text.Trim();
        if (rest.EndsWith("iB", StringComparison.OrdinalIgnoreCase))
        {
            rest = rest[..^2];
        }
        else if (rest.EndsWith('B') || rest.EndsWith('b'))
        {
            rest = rest[..^1];
        }

        var shift = rest.Length == 0 ? 0 : char.ToUpperInvariant(rest[^1]) switch
        {
            'K' => 10,
            'M' => 20,
            'G' => 30,
            'T' => 40,
            _ => 0,
        };
        if (shift != 0)
        {
            rest = rest[..^1];
        }

        // Digits only: no sign, separators or fractions, so "1.5G" or "-1" cannot be misread.
        if (rest.Length == 0 || !rest.All(char.IsAsciiDigit) ||
            !long.TryParse(rest, NumberStyles.None, CultureInfo.InvariantCulture, out var value))
        {
            throw Invalid(text, option, "expected a whole number of bytes, optionally followed by K, M, G or T");
        }

        if (value > long.MaxValue >> shift)
        {
            throw Invalid(text, option, "the value is too large");
        }

        var bytes = value << shift;
        return bytes > 0 ? bytes : throw Invalid(text, option, "it must be at least one byte");
    }

    private static MergeBuildException Invalid(string text, string option, string why) =>
        new(ErrorCodes.InvalidOption, $"Invalid {option} '{text}': {why}.",
            hint: $"Use e.g. {option} 2G (2 GiB), 512M or 1073741824.");
}
