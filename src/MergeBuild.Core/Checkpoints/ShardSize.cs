using System.Globalization;
using MergeBuild.Diagnostics;

namespace MergeBuild.Checkpoints;

/// <summary>The output shard size limit (<c>--out-shard-size</c>), parsed the way mergekit parses it.</summary>
public static class ShardSize
{
    /// <summary>mergekit's default, "5B": five billion bytes.</summary>
    public const long Default = 5_000_000_000;

    /// <summary>
    /// Parses a byte count: a plain integer, or an integer followed by k, m or b (any case) meaning ×1000,
    /// ×1,000,000 or ×1,000,000,000 — decimal units, as in mergekit, not KiB/MiB/GiB.
    /// Anything else, zero, or a value past <see cref="long.MaxValue"/> is MB5001.
    /// </summary>
    public static long Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var digits = text;
        long multiplier = 1;
        if (text.Length > 0)
        {
            multiplier = char.ToLowerInvariant(text[^1]) switch
            {
                'k' => 1_000,
                'm' => 1_000_000,
                'b' => 1_000_000_000,
                _ => 1,
            };
            if (multiplier != 1)
            {
                digits = text[..^1];
            }
        }

        // Digits only: no sign, spaces, separators or fractions, so "1.5b" or "-5" cannot be misread.
        if (digits.Length == 0 || !digits.All(char.IsAsciiDigit) ||
            !long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var value))
        {
            throw Invalid(text, "expected a whole number of bytes, optionally followed by k, m or b (e.g. 5B, 500M)");
        }

        long bytes;
        try
        {
            bytes = checked(value * multiplier);
        }
        catch (OverflowException)
        {
            throw Invalid(text, "the value is too large");
        }

        return bytes > 0 ? bytes : throw Invalid(text, "the shard size must be at least one byte");
    }

    private static MergeBuildException Invalid(string text, string why) =>
        new(ErrorCodes.InvalidOption, $"Invalid shard size '{text}': {why}.",
            hint: "Use e.g. --out-shard-size 5B (5,000,000,000 bytes), 500M or 1000000.");
}
