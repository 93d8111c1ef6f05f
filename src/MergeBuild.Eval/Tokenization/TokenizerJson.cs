using System.Text.Json;
using System.Text.RegularExpressions;
using MergeBuild.Diagnostics;

namespace MergeBuild.Eval.Tokenization;

/// <summary>
/// Typed reads from a parsed <c>tokenizer.json</c> that fail with MB6003 naming the file, and the MB6002 error for
/// components this implementation does not support.
/// </summary>
internal sealed class TokenizerJson(string path)
{
    public string Path { get; } = path;

    public MergeBuildException Malformed(string message) =>
        new(ErrorCodes.MalformedTokenizer, $"tokenizer.json: {message}", new SourceLocation(Path),
            "Re-save the tokenizer with a current transformers/tokenizers version.");

    public MergeBuildException Unsupported(string component, string? type, string supported) =>
        new(ErrorCodes.UnsupportedTokenizer,
            $"tokenizer.json uses the {component} '{type ?? "(no type)"}', which the evaluator does not implement.",
            new SourceLocation(Path), $"Supported {component}s: {supported}.");

    /// <summary>The object's <c>type</c>, or null when the element is JSON null or absent.</summary>
    public static string? TypeOf(JsonElement element) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty("type", out var type) &&
        type.ValueKind == JsonValueKind.String
            ? type.GetString()
            : null;

    public static bool IsNull(JsonElement element) =>
        element.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined;

    public static JsonElement Property(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) ? value : default;

    public string String(JsonElement element, string name) =>
        OptionalString(element, name) ?? throw Malformed($"'{name}' must be a string.");

    public static string? OptionalString(JsonElement element, string name) =>
        Property(element, name) is { ValueKind: JsonValueKind.String } value ? value.GetString() : null;

    public static bool Bool(JsonElement element, string name, bool fallback) =>
        Property(element, name).ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => fallback,
        };

    public int Int(JsonElement element, string name) =>
        Property(element, name) is { ValueKind: JsonValueKind.Number } value && value.TryGetInt32(out var n)
            ? n
            : throw Malformed($"'{name}' must be an integer.");

    public IEnumerable<JsonElement> Array(JsonElement element, string name) =>
        Property(element, name) is { ValueKind: JsonValueKind.Array } value
            ? value.EnumerateArray()
            : throw Malformed($"'{name}' must be an array.");

    /// <summary>How long one match of a pattern from the file may run before the tokenizer gives up (MB6003).</summary>
    public static readonly TimeSpan RegexTimeout = TimeSpan.FromSeconds(1);

    /// <summary>A <c>{"String": s}</c> or <c>{"Regex": r}</c> pattern as a .NET regular expression.</summary>
    public Regex Pattern(JsonElement element, string name)
    {
        var pattern = Property(element, name);
        if (OptionalString(pattern, "String") is { } literal)
        {
            return new Regex(Regex.Escape(literal), RegexOptions.CultureInvariant, RegexTimeout);
        }

        var expression = OptionalString(pattern, "Regex") ??
                         throw Malformed($"'{name}' must be {{\"String\": …}} or {{\"Regex\": …}}.");
        try
        {
            return new Regex(expression, RegexOptions.CultureInvariant, RegexTimeout);
        }
        catch (ArgumentException e)
        {
            // tokenizers uses Oniguruma; a construct .NET lacks (e.g. possessive quantifiers) lands here.
            throw new MergeBuildException(ErrorCodes.UnsupportedTokenizer,
                $"tokenizer.json: the regular expression '{expression}' is not supported by .NET: {e.Message}",
                new SourceLocation(Path), "Rewrite the pattern without the unsupported construct.", e);
        }
    }
}
