namespace MergeBuild.Diagnostics;

/// <summary>
/// Where a problem is: a file and, when known, a 1-based line and column (0 = unknown).
/// Formats the way MSBuild and IDEs read positions: <c>file(line,col)</c>.
/// </summary>
public sealed record SourceLocation(string File, int Line = 0, int Column = 0)
{
    /// <summary>The canonical <c>file(line,col)</c> form, or just the file when no line is known.</summary>
    public override string ToString() =>
        Line <= 0 ? File : Column <= 0 ? $"{File}({Line})" : $"{File}({Line},{Column})";
}
