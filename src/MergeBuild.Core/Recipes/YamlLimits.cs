using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace MergeBuild.Recipes;

/// <summary>
/// Bounds on recipe YAML, which may come from anywhere: the file size here; nesting depth and alias expansion are
/// bounded while parsing by <see cref="TrackingParser"/>.
/// </summary>
internal static class YamlLimits
{
    /// <summary>Largest recipe file read; real recipes are a few kilobytes.</summary>
    public const long MaxRecipeBytes = 4 * 1024 * 1024;

    /// <summary>Loads YAML with the same bounds the recipe parser applies.</summary>
    public static YamlStream Load(string yamlText)
    {
        FlowNestingScan.Check(yamlText);
        var stream = new YamlStream();
        stream.Load(new TrackingParser(new Parser(new StringReader(yamlText))));
        return stream;
    }
}
