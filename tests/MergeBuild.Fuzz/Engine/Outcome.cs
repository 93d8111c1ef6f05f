using System.Diagnostics;
using System.Text.RegularExpressions;
using MergeBuild.Diagnostics;

namespace MergeBuild.Fuzzing;

/// <summary>
/// What one input did. The class (exception type + error code + throw-site method) is what the corpus keeps one
/// example of: two inputs rejected by the same check in the same method are the same outcome.
/// </summary>
public sealed partial record Outcome(string Class, bool Allowed, Exception? Error)
{
    /// <summary>Classes of accepted inputs start with this, then the target's signature.</summary>
    public const string AcceptedPrefix = "ok";

    public static Outcome Success(string signature) => new($"{AcceptedPrefix}|{signature}", true, null);

    /// <summary>
    /// The class of a thrown exception: type, code, throw site, and the message with names and numbers blanked, so
    /// the same check reporting different values is one class while different messages from one site are not.
    /// </summary>
    public static Outcome Of(Exception error)
    {
        var code = error is MergeBuildException mb ? mb.Code : "-";
        var allowed = error is MergeBuildException { Code.Length: > 0, Message.Length: > 0, Location: not null };
        var firstLine = error.Message.Split('\n')[0];
        // Only plain lower-case words survive: fragments of the input quoted in a message must not make new classes.
        var words = Variable().Replace(firstLine, " ").Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .Where(w => w.Length >= 3 && w.All(char.IsAsciiLetterLower)).Take(4);
        var shape = string.Join(' ', words);
        return new Outcome($"{error.GetType().Name}|{code}|{ThrowSite(error)}|{shape}", allowed, error);
    }

    [GeneratedRegex(@"'[^'\n]*'?|""[^""\n]*""?|\d+|\[[^\]\n]*\]?")]
    private static partial Regex Variable();

    // The first frame is where the exception was thrown (an error factory's caller shows as the throw site too,
    // because factories only build the exception).
    private static string ThrowSite(Exception error)
    {
        var method = new StackTrace(error, fNeedFileInfo: false).GetFrame(0)?.GetMethod();
        return method is null ? "?" : $"{method.DeclaringType?.Name}.{method.Name}";
    }
}
