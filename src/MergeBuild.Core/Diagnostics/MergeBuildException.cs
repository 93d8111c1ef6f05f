namespace MergeBuild.Diagnostics;

/// <summary>
/// A user-facing error: bad input, a missing model, an impossible recipe. It carries a stable code
/// (<c>MBxxxx</c>, see <see cref="ErrorCodes"/>), the position the user should look at, and what to do about it.
/// Front ends (the CLI, the MSBuild tasks) print it as one line and never show a stack trace for it.
/// </summary>
public class MergeBuildException : Exception
{
    public MergeBuildException(string code, string message, SourceLocation? location = null, string? hint = null,
        Exception? innerException = null)
        : base(message, innerException)
    {
        Code = code;
        Location = location;
        Hint = hint;
    }

    /// <summary>The stable error code, e.g. <c>MB1003</c>.</summary>
    public string Code { get; }

    /// <summary>The file (and line/column when known) the error is about, or null when it concerns no file.</summary>
    public SourceLocation? Location { get; }

    /// <summary>What the user can do to fix it, or null.</summary>
    public string? Hint { get; }

    /// <summary>The message followed by the hint, without code or location.</summary>
    public string FullMessage => Hint is null ? Message : $"{Message} {Hint}";

    /// <summary>One line in the canonical MSBuild form: <c>file(line,col): error MB1003: message hint</c>.</summary>
    public string ToDiagnosticLine() =>
        Location is null ? $"error {Code}: {FullMessage}" : $"{Location}: error {Code}: {FullMessage}";

    public override string ToString() => ToDiagnosticLine();
}
