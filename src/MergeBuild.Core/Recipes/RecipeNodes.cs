using System.Globalization;
using MergeBuild.Diagnostics;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace MergeBuild.Recipes;

/// <summary>
/// Typed reads of YAML nodes for the recipe parser. Every failure becomes a <see cref="MergeBuildException"/> at the
/// node's 1-based line and column in the recipe file, so no YamlDotNet type or null reference escapes to the user.
/// </summary>
internal sealed class RecipeNodes(string filePath)
{
    // YAML 1.1 booleans, as PyYAML (mergekit's loader) reads them.
    private static readonly HashSet<string> TrueWords = new(StringComparer.Ordinal) { "true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON" };
    private static readonly HashSet<string> FalseWords = new(StringComparer.Ordinal) { "false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF" };

    public string FilePath => filePath;

    public SourceLocation At(YamlNode node) => At(node.Start);

    public SourceLocation At(Mark mark) => new(filePath, (int)Math.Min(mark.Line, int.MaxValue), (int)Math.Min(mark.Column, int.MaxValue));

    public MergeBuildException Fail(string code, YamlNode node, string message, string? hint = null) => new(code, message, At(node), hint);

    /// <summary>A YAML null: an empty value, <c>~</c> or <c>null</c>, unquoted.</summary>
    public static bool IsNull(YamlNode? node) =>
        node is null
        || node is YamlScalarNode { Style: ScalarStyle.Plain or ScalarStyle.Any, Value: null or "" or "~" or "null" or "Null" or "NULL" };

    /// <summary>What a node is, for "expected X, found Y" messages.</summary>
    public static string Describe(YamlNode node) => node switch
    {
        YamlMappingNode => "a mapping",
        YamlSequenceNode => "a list",
        _ when IsNull(node) => "nothing",
        YamlScalarNode scalar => $"'{scalar.Value}'",
        _ => "an unexpected YAML node",
    };

    public YamlMappingNode Mapping(YamlNode node, string what, string? hint = null) =>
        node as YamlMappingNode ?? throw Fail(ErrorCodes.InvalidValue, node, $"{what} must be a mapping of keys to values, found {Describe(node)}.", hint);

    public YamlSequenceNode Sequence(YamlNode node, string what, string? hint = null) =>
        node as YamlSequenceNode ?? throw Fail(ErrorCodes.InvalidValue, node, $"{what} must be a list, found {Describe(node)}.", hint);

    public YamlSequenceNode NonEmptySequence(YamlNode node, string what, string? hint = null)
    {
        var sequence = Sequence(node, what, hint);
        return sequence.Children.Count > 0
            ? sequence
            : throw Fail(ErrorCodes.InvalidValue, node, $"{what} is an empty list.", hint);
    }

    /// <summary>A non-empty text value (numbers are accepted as their text, e.g. a model folder named <c>2024</c>).</summary>
    public string Text(YamlNode node, string what)
    {
        if (node is YamlScalarNode scalar && !IsNull(node) && !string.IsNullOrWhiteSpace(scalar.Value))
        {
            return scalar.Value;
        }

        throw Fail(ErrorCodes.InvalidValue, node, $"{what} must be a text value, found {Describe(node)}.");
    }

    public int Integer(YamlNode node, string what)
    {
        if (node is YamlScalarNode { Style: ScalarStyle.Plain, Value: { } text }
            && int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
        {
            return value;
        }

        throw Fail(ErrorCodes.InvalidValue, node, $"{what} must be a whole number, found {Describe(node)}.");
    }

    public bool Boolean(YamlNode node, string what)
    {
        if (node is YamlScalarNode { Style: ScalarStyle.Plain, Value: { } text })
        {
            if (TrueWords.Contains(text))
            {
                return true;
            }

            if (FalseWords.Contains(text))
            {
                return false;
            }
        }

        throw Fail(ErrorCodes.InvalidValue, node, $"{what} must be true or false, found {Describe(node)}.");
    }

    public double Number(YamlNode node, string what) =>
        node is YamlScalarNode scalar && TryNumber(scalar, out var value)
            ? value
            : throw Fail(ErrorCodes.InvalidValue, node, $"{what} must be a number, found {Describe(node)}.");

    /// <summary>
    /// A finite number or a boolean (true = 1, false = 0) as mergekit's pydantic model reads it. A quoted number is
    /// accepted too, as pydantic coerces it; a quoted boolean is text.
    /// </summary>
    public static bool TryNumber(YamlScalarNode scalar, out double value)
    {
        value = 0;
        if (scalar.Value is not { Length: > 0 } text)
        {
            return false;
        }

        if (scalar.Style is ScalarStyle.Plain or ScalarStyle.Any)
        {
            if (TrueWords.Contains(text))
            {
                value = 1;
                return true;
            }

            if (FalseWords.Contains(text))
            {
                return true;
            }
        }

        // NumberStyles.Float alone: no thousands separators, no currency; "Infinity"/"NaN" are refused below.
        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out value) && double.IsFinite(value);
    }

    /// <summary>
    /// The entries of a mapping, refusing non-text keys and keys outside <paramref name="allowed"/> (MB2003 at the
    /// key, with a did-you-mean). <paramref name="where"/> names the place for messages ("the recipe", "a slice").
    /// </summary>
    public IReadOnlyDictionary<string, (YamlScalarNode Key, YamlNode Value)> Entries(YamlMappingNode map, string where, IReadOnlyList<string> allowed)
    {
        var entries = new Dictionary<string, (YamlScalarNode, YamlNode)>(StringComparer.Ordinal);
        foreach (var (keyNode, value) in map.Children)
        {
            if (keyNode is not YamlScalarNode { Value: { } name } key || IsNull(keyNode))
            {
                throw Fail(ErrorCodes.InvalidValue, keyNode, $"keys in {where} must be plain names, found {Describe(keyNode)}.");
            }

            if (!allowed.Contains(name, StringComparer.Ordinal))
            {
                throw UnknownName(ErrorCodes.UnknownKey, key, $"unknown key '{name}' in {where}", name, allowed,
                    $"Keys allowed in {where}: {string.Join(", ", allowed)}.");
            }

            entries[name] = (key, value);
        }

        return entries;
    }

    /// <summary>An "unknown X" error whose message ends with "did you mean 'Y'?" when a candidate is close.</summary>
    public MergeBuildException UnknownName(string code, YamlNode node, string message, string name, IEnumerable<string> candidates, string? hint)
    {
        var suggestion = DidYouMean.Suggest(name, candidates);
        return Fail(code, node, suggestion is null ? message + "." : $"{message}; did you mean '{suggestion}'?", hint);
    }
}
