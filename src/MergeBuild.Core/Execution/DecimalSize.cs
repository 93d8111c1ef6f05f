using System.Globalization;
using MergeBuild.Diagnostics;

namespace MergeBuild.Execution;

/// <summary>
/// Parses a size in bytes the way mergekit parses <c>--out-shard-size</c>: a plain integer, or an integer followed by
/// k, m or b (any case) for ×1000, ×1,000,000 or ×1,000,000,000. Decimal units, not KiB/MiB/GiB; the shard size, the
/// cache's size limit, a feed package's part size and the bench's model size are all written this way.
/// </summary>
/// <remarks>
/// Memory amounts (<c>--memory-budget</c>) use binary units instead (<see cref="MemorySize"/>), so "2G" is valid there
/// and not here. Rather than guess, a G, T, KB, MB, GB or …iB suffix is refused with the size to write instead.
/// </remarks>
public static class DecimalSize
{
    /// <summary>The bytes <paramref name="text"/> stands for; MB5001 naming <paramref name="setting"/> otherwise.</summary>
    /// <param name="text">The value as given.</param>
    /// <param name="setting">Where it was given (an option, an environment variable, an MSBuild metadata name).</param>
    public static long Parse(string text, string setting)
    {
        ArgumentNullException.ThrowIfNull(text);
        var (digits, multiplier) = Split(text);

        // Digits only: no sign, spaces, separators or fractions, so "1.5b" or "-5" cannot be misread.
        if (digits.Length == 0 || !digits.All(char.IsAsciiDigit) ||
            !long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var value))
        {
            throw OtherUnit(text) is { } instead
                ? Invalid(text, setting, "sizes here count thousands (k), millions (m) or billions (b) of bytes, as mergekit does",
                    $"Write {instead}.")
                : Invalid(text, setting, "expected a whole number of bytes, optionally followed by k, m or b");
        }

        long bytes;
        try
        {
            bytes = checked(value * multiplier);
        }
        catch (OverflowException)
        {
            throw Invalid(text, setting, "the value is too large");
        }

        return bytes > 0 ? bytes : throw Invalid(text, setting, "it must be at least one byte");
    }

    private static (string Digits, long Multiplier) Split(string text)
    {
        var multiplier = text.Length == 0 ? 1 : char.ToLowerInvariant(text[^1]) switch
        {
            'k' => 1_000,
            'm' => 1_000_000,
            'b' => 1_000_000_000,
            _ => 1L,
        };
        return (multiplier == 1 ? text : text[..^1], multiplier);
    }

    /// <summary>
    /// For a whole number with a unit from another convention (2G, 500MB, 1TB, 4GiB), the same size written here;
    /// null for anything else.
    /// </summary>
    private static string? OtherUnit(string text)
    {
        var end = 0;
        while (end < text.Length && char.IsAsciiDigit(text[end]))
        {
            end++;
        }

        if (end == 0 || !long.TryParse(text[..end], NumberStyles.None, CultureInfo.InvariantCulture, out var value))
        {
            return null;
        }

        var unit = text[end..].ToUpperInvariant();
        if (unit.Length == 3 && unit.EndsWith("IB", StringComparison.Ordinal) && "KMGT".Contains(unit[0], StringComparison.Ordinal))
        {
            // Binary units: the exact byte count, when it fits.
            var shift = 10 * ("KMGT".IndexOf(unit[0], StringComparison.Ordinal) + 1);
            return value <= long.MaxValue >> shift ? $"{value << shift} (bytes)" : null;
        }

        return unit switch
        {
            "KB" => $"{value}k",
            "MB" => $"{value}M",
            "G" or "GB" => $"{value}B",
            "T" or "TB" when value <= long.MaxValue / 1000 => $"{value * 1000}B",
            _ => null,
        };
    }

    private static MergeBuildException Invalid(string text, string setting, string why,
        string hint = "Use e.g. 5B (5,000,000,000 bytes), 500M or 1000000.") =>
        new(ErrorCodes.InvalidOption, $"Invalid {setting} '{text}': {why}.", hint: hint);
}
