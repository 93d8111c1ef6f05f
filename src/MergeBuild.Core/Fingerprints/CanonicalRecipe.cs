using System.Text;
using YamlDotNet.RepresentationModel;

namespace MergeBuild.Fingerprints;

/// <summary>
/// A recipe's content without its formatting: comments, indentation, quoting style and flow-versus-block layout are
/// dropped, keys and values kept in order. Two recipes with the same canonical text merge the same way, so editing a
/// comment does not rebuild a merge.
/// </summary>
public static class CanonicalRecipe
{
    public static string Of(string yamlText)
    {
        ArgumentNullException.ThrowIfNull(yamlText);
        // Same bounds as the recipe parser (depth, alias expansion): this walk expands aliases too.
        var stream = Recipes.YamlLimits.Load(yamlText);
        var text = new StringBuilder();
        foreach (var document in stream.Documents)
        {
            text.Append("---\n");
            Write(document.RootNode, text);
            text.Append('\n');
        }

        return text.ToString();
    }

    private static void Write(YamlNode node, StringBuilder text)
    {
        switch (node)
        {
            case YamlScalarNode scalar:
                // Length-prefixed so no scalar can imitate structure.
                var value = scalar.Value ?? "";
                text.Append('s').Append(value.Length).Append(':').Append(value);
                break;
            case YamlSequenceNode sequence:
                text.Append('[');
                foreach (var child in sequence.Children)
                {
                    Write(child, text);
                    text.Append(',');
                }

                text.Append(']');
                break;
            case YamlMappingNode mapping:
                text.Append('{');
                foreach (var (key, value2) in mapping.Children)
                {
                    Write(key, text);
                    text.Append('=');
                    Write(value2, text);
                    text.Append(',');
                }

                text.Append('}');
                break;
            default:
                text.Append('?');
                break;
        }
    }
}
