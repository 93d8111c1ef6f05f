using System.Globalization;
using System.Text.RegularExpressions;
using MergeBuild.Diagnostics;
using YamlDotNet.RepresentationModel;

namespace MergeBuild.Cli;

/// <summary>
/// Sets one value in a recipe's last YAML document, addressed by a path like <c>parameters.t</c> or
/// <c>models[1].parameters.weight</c> (missing mappings are created), and returns the edited text.
/// </summary>
internal static partial class RecipeEditor
{
    public static string Set(string yaml, string path, double value)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        YamlNode node = stream.Documents[^1].RootNode;
        var segments = path.Split('.');
        for (var i = 0; i < segments.Length; i++)
        {
            var match = Segment().Match(segments[i]);
            if (!match.Success)
            {
                throw Bad(path, $"'{segments[i]}' is not a key or key[index]");
            }

            var map = node as YamlMappingNode ?? throw Bad(path, $"'{segments[i]}' is not inside a mapping");
            var key = new YamlScalarNode(match.Groups[1].Value);
            var last = i == segments.Length - 1 && !match.Groups[2].Success;
            if (last)
            {
                map.Children[key] = new YamlScalarNode(value.ToString("R", CultureInfo.InvariantCulture));
                break;
            }

            if (!map.Children.TryGetValue(key, out var child))
            {
                child = map.Children[key] = new YamlMappingNode();
            }

            if (match.Groups[2].Success)
            {
                var list = child as YamlSequenceNode ?? throw Bad(path, $"'{key.Value}' is not a list");
                var index = int.Parse(match.Groups[2].Value, CultureInfo.InvariantCulture);
                child = index < list.Children.Count ? list.Children[index] : throw Bad(path, $"'{key.Value}' has no item {index}");
                if (i == segments.Length - 1)
                {
                    list.Children[index] = new YamlScalarNode(value.ToString("R", CultureInfo.InvariantCulture));
                    break;
                }
            }

            node = child;
        }

        var writer = new StringWriter();
        stream.Save(writer, assignAnchors: false);
        return writer.ToString();
    }

    private static MergeBuildException Bad(string path, string why) =>
        new(ErrorCodes.InvalidOption, $"--set {path}: {why}.",
            hint: "Address a value like parameters.t or models[1].parameters.weight.");

    [GeneratedRegex(@"^([A-Za-z_][A-Za-z0-9_]*)(?:\[(\d+)\])?$")]
    private static partial Regex Segment();
}
