using System.Globalization;
using MergeBuild.Diagnostics;

namespace MergeBuild.Tasks;

/// <summary>
/// Reads a <c>ModelMerge</c> item's option metadata the way the merge itself will: a value the merge would refuse, or
/// read differently, must not be silently fingerprinted as the default (an up-to-date build would then never run the
/// merge that reports it, and a cached merge made with the default would be restored).
/// </summary>
internal static class MetadataValues
{
    private static readonly string[] True = ["true", "on", "yes", "!false", "!off", "!no"];
    private static readonly string[] False = ["false", "off", "no", "!true", "!on", "!yes"];

    /// <summary>A seed as <c>--random-seed</c> reads it: a whole number from 0 to 2⁶⁴ − 1.</summary>
    public static ulong Seed(string text, string name) =>
        ulong.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var seed)
            ? seed
            : throw new MergeBuildException(ErrorCodes.InvalidOption,
                $"Invalid {name} '{text}': expected a whole number from 0 to {ulong.MaxValue}.",
                hint: $"Set {name} to e.g. 1234, or leave it empty for the default.");

    /// <summary>A boolean as MSBuild converts a task's bool parameter (true/on/yes, false/off/no, negated with !).</summary>
    public static bool Boolean(string text, string name)
    {
        var value = text.Trim();
        return True.Contains(value, StringComparer.OrdinalIgnoreCase) ? true
            : False.Contains(value, StringComparer.OrdinalIgnoreCase) ? false
            : throw new MergeBuildException(ErrorCodes.InvalidOption, $"Invalid {name} '{text}': expected true or false.",
                hint: $"Set {name} to true or false.");
    }
}
