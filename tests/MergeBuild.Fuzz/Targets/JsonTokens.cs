namespace MergeBuild.Fuzzing.Targets;

/// <summary>Tokens shared by the JSON targets: escapes that are hard to decode, and path tricks.</summary>
public static class JsonTokens
{
    public static readonly string[] Common =
    [
        "\"\\u0000\"", "\"\\ud800\"", "\"\\udc00\\ud800\"", "\"\\uFFFF\"", "\\", "\"", "\"../x\"", "\"/etc/passwd\"",
        "\"a/../../b\"", "\"C:\\\\x\"", "null", "{", "}", "[", "]", ":", ",", "1e999", "-0", "\u00e9", "\ufeff",
    ];
}
