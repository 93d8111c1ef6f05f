using System.Text;
using YamlDotNet.RepresentationModel;

namespace MergeBuild.Fingerprints;

/// <summary>
/// A recipe's content without its formatting: comments, indentation, quoting style and flow-versus-block layout are
/// dropped, keys and values kept in order. Two recipes with the same canonical text merge the same way, so editing a
/// comment does not rebuild a merge. The top-level <c>cache:</c> section is left out: it says where a result may
/// come from, not what it is, so switching the cache mode neither rebuilds nor misses the cache.
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
            Write(WithoutCacheSection(document.RootNode), text);
            text.Append('\n');
        }

        return text.ToString();
    }

    private static YamlNode WithoutCacheSection(YamlNode root)
    {
        if (root is not YamlMappingNode mapping ||
            !mapping.Children.Keys.Any(k => k is YamlScalarNode { Value: "cache" }))
        {
            return root;
        }

        var copy = new YamlMappingNode();
        foreach (var (key, value) in mapping.Children.Where(c => c.Key is not YamlScalarNode { Value: "cache" }))
        {
            copy.Add(key, value);
        }

        return copy;
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
