using System.Globalization;
using MergeBuild.Diagnostics;
using YamlDotNet.RepresentationModel;

namespace MergeBuild.Recipes;

/// <summary>
/// Reads <c>parameters:</c> blocks and checks them against the merge method: names the method knows (MB2007), the
/// right level for each, numeric values (MB2004) and static values in range (MB3006) — gradients and conditional
/// entries included. Whether a required parameter is set for every tensor is left to validation.
/// </summary>
internal sealed class ParameterParser(RecipeNodes nodes, MergeMethodSpec method)
{
    private static readonly string[] EntryKeys = ["filter", "value"];

    private const string ShapesHint = "A parameter is a number, true/false, a list of numbers (a gradient) or a list of {filter, value} entries.";

    public ParameterMap Parse(YamlNode? node, ParameterLevel level)
    {
        if (node is null || RecipeNodes.IsNull(node))
        {
            return ParameterMap.Empty;
        }

        var map = nodes.Mapping(node, "parameters");
        var names = method.Parameters.Select(p => p.Name).ToList();
        var entries = new List<KeyValuePair<string, ParameterSetting>>();
        var nameLocations = new Dictionary<string, SourceLocation>(StringComparer.Ordinal);
        foreach (var (keyNode, valueNode) in map.Children)
        {
            if (keyNode is not YamlScalarNode { Value: { Length: > 0 } name } key)
            {
                throw nodes.Fail(ErrorCodes.InvalidValue, keyNode, $"parameter names must be plain names, found {RecipeNodes.Describe(keyNode)}.");
            }

            var spec = method.FindParameter(name) ?? throw UnknownParameter(key, name, names);
            if (level == ParameterLevel.Model && spec.Scope == ParameterScope.Global)
            {
                throw nodes.Fail(ErrorCodes.UnknownParameter, key,
                    $"'{name}' is a global parameter of {method.Name} and is never read from a model's own parameters.",
                    "Move it to the top-level `parameters:` (or the slice's).");
            }

            var setting = ParseSetting(valueNode, name);
            Check(setting, spec);
            entries.Add(new(name, setting));
            nameLocations[name] = nodes.At(key);
        }

        return new ParameterMap(entries, nodes.At(map), nameLocations);
    }

    private MergeBuildException UnknownParameter(YamlScalarNode key, string name, List<string> names) =>
        names.Count == 0
            ? nodes.Fail(ErrorCodes.UnknownParameter, key, $"merge method '{method.Name}' takes no parameters, but '{name}' is set.",
                "Remove the `parameters:` entry.")
            : nodes.UnknownName(ErrorCodes.UnknownParameter, key, $"merge method '{method.Name}' has no parameter '{name}'", name, names,
                $"Its parameters: {string.Join(", ", names)}.");

    private ParameterSetting ParseSetting(YamlNode node, string name)
    {
        switch (node)
        {
            case YamlScalarNode scalar when RecipeNodes.IsNull(scalar):
                throw nodes.Fail(ErrorCodes.InvalidValue, node, $"parameter '{name}' has no value.", ShapesHint);
            case YamlScalarNode scalar:
                return ParseScalar(scalar);
            case YamlSequenceNode { Children.Count: 0 }:
                throw nodes.Fail(ErrorCodes.InvalidValue, node, $"parameter '{name}' is an empty list.", ShapesHint);
            case YamlSequenceNode sequence when sequence.Children.All(c => c is YamlMappingNode):
                return ParseConditional(sequence, name);
            case YamlSequenceNode sequence:
                return ParseGradient(sequence, name);
            case YamlMappingNode map when map.Children.Keys.Any(k => k is YamlScalarNode { Value: "filter" or "value" }):
                // mergekit validates a bare entry and only fails when a tensor needs it; refuse it up front.
                throw nodes.Fail(ErrorCodes.InvalidValue, node, $"parameter '{name}' is a single {{filter, value}} entry; it must be inside a list.",
                    "Write it as a list item: `- filter: ...` / `  value: ...`.");
            default:
                throw nodes.Fail(ErrorCodes.InvalidValue, node, $"parameter '{name}' has an unsupported value ({RecipeNodes.Describe(node)}).", ShapesHint);
        }
    }

    private ScalarSetting ParseScalar(YamlScalarNode scalar) =>
        RecipeNodes.TryNumber(scalar, out var number)
            ? new ScalarSetting(number, null, nodes.At(scalar))
            : new ScalarSetting(null, scalar.Value, nodes.At(scalar));

    private GradientSetting ParseGradient(YamlSequenceNode sequence, string name)
    {
        var values = new List<double>();
        var locations = new List<SourceLocation>();
        foreach (var item in sequence.Children)
        {
            if (item is not YamlScalarNode scalar || !RecipeNodes.TryNumber(scalar, out var value))
            {
                throw nodes.Fail(ErrorCodes.InvalidValue, item,
                    $"parameter '{name}' is a gradient, so every item must be a number; found {RecipeNodes.Describe(item)}.", ShapesHint);
            }

            values.Add(value);
            locations.Add(nodes.At(item));
        }

        return new GradientSetting(values, nodes.At(sequence)) { ValueLocations = locations };
    }

    private ConditionalSetting ParseConditional(YamlSequenceNode sequence, string name)
    {
        var entries = new List<ConditionalEntry>();
        foreach (var item in sequence.Children)
        {
            var map = (YamlMappingNode)item;
            var fields = nodes.Entries(map, $"a conditional entry of '{name}'", EntryKeys);
            if (!fields.TryGetValue("value", out var value))
            {
                throw nodes.Fail(ErrorCodes.MissingKey, map, $"a conditional entry of '{name}' has no 'value'.", "Each entry is `{filter: <substring>, value: <number or list>}`.");
            }

            string? filter = null;
            if (fields.TryGetValue("filter", out var filterNode) && !RecipeNodes.IsNull(filterNode.Value))
            {
                filter = filterNode.Value is YamlScalarNode { Value: { Length: > 0 } text }
                    ? text
                    : throw nodes.Fail(ErrorCodes.InvalidValue, filterNode.Value, $"a filter must be text (a substring of tensor names), found {RecipeNodes.Describe(filterNode.Value)}.");
            }

            var setting = value.Value switch
            {
                YamlSequenceNode { Children.Count: > 0 } list when list.Children.All(c => c is YamlScalarNode) => ParseGradient(list, name),
                YamlScalarNode scalar when !RecipeNodes.IsNull(scalar) => (ParameterSetting)ParseScalar(scalar),
                _ => throw nodes.Fail(ErrorCodes.InvalidValue, value.Value,
                    $"a conditional value of '{name}' must be a number or a list of numbers, found {RecipeNodes.Describe(value.Value)}."),
            };
            entries.Add(new ConditionalEntry(filter, setting, nodes.At(map)));
        }

        return new ConditionalSetting(entries, nodes.At(sequence));
    }

    private void Check(ParameterSetting setting, ParameterSpec spec)
    {
        switch (setting)
        {
            case ScalarSetting { Number: { } number } scalar:
                CheckNumber(number, scalar.Location, spec);
                break;
            case ScalarSetting scalar:
                throw new MergeBuildException(ErrorCodes.InvalidValue,
                    $"parameter '{spec.Name}' must be {(spec.IsBoolean ? "true or false" : "a number")}, not '{scalar.Text}'.", scalar.Location, ShapesHint);
            case GradientSetting gradient:
                for (var i = 0; i < gradient.Values.Count; i++)
                {
                    CheckNumber(gradient.Values[i], gradient.ValueLocations[i], spec);
                }

                break;
            case ConditionalSetting conditional:
                foreach (var entry in conditional.Entries)
                {
                    Check(entry.Value, spec);
                }

                break;
        }
    }

    private static void CheckNumber(double value, SourceLocation at, ParameterSpec spec)
    {
        if (!spec.IsInRange(value))
        {
            throw new MergeBuildException(ErrorCodes.ParameterOutOfRange,
                $"{spec.Name} = {value.ToString("R", CultureInfo.InvariantCulture)} is out of range: it must be {spec.RangeText}.", at,
                $"{spec.Description}");
        }

        if (spec.IsInteger && value != Math.Floor(value))
        {
            throw new MergeBuildException(ErrorCodes.InvalidValue,
                $"{spec.Name} must be a whole number, not {value.ToString("R", CultureInfo.InvariantCulture)}.", at);
        }
    }
}
