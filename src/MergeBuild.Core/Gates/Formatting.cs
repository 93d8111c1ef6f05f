using System.Globalization;

namespace MergeBuild.Gates;

internal static class Formatting
{
    public static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
