using System.Globalization;

namespace MergeBuild.Planning;

/// <summary>
/// A tensor name split into its role and, for layer weights, its layer index and a template that
/// renumbers it (<c>model.layers.{0}.mlp.up_proj.weight</c>).
/// </summary>
/// <remarks>
/// mergekit learns this split from per-architecture JSON files; we infer it from the names, as mergekit's
/// own fallback does: the first <c>.&lt;digits&gt;.</c> group is the layer index; names without one that
/// mention <c>embed</c>, <c>wte</c> or <c>wpe</c> come before the layers, every other name after them.
/// That matches the Llama, Mistral, Qwen2 and Qwen3 definitions.
/// </remarks>
public sealed record TensorName(string Name, TensorRole Role, int Layer, string Template)
{
    /// <summary>True when the tensor is an embedding-like matrix indexed by token id (rows = vocabulary).</summary>
    public bool IsEmbedding =>
        Role != TensorRole.Layer && (Name.Contains("embed_tokens", StringComparison.Ordinal) ||
                                     Name.Contains("lm_head", StringComparison.Ordinal) ||
                                     Name.Contains("wte", StringComparison.Ordinal) ||
                                     Name.EndsWith("embed_out.weight", StringComparison.Ordinal));

    /// <summary>The name of the same weight in another layer.</summary>
    public string ForLayer(int layer) =>
        Role == TensorRole.Layer ? string.Format(CultureInfo.InvariantCulture, Template, layer) : Name;

    /// <summary>Classifies a tensor name.</summary>
    public static TensorName Parse(string name)
    {
        var parts = name.Split('.');
        // The first purely numeric segment that is neither the first nor the last part names the layer.
        for (var i = 1; i < parts.Length - 1; i++)
        {
            if (parts[i].Length > 0 && parts[i].All(char.IsAsciiDigit) &&
                int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out var layer))
            {
                var template = string.Join('.', parts.Select((p, j) => j == i ? "{0}" : Escape(p)));
                return new TensorName(name, TensorRole.Layer, layer, template);
            }
        }

        var isPre = name.Contains("embed", StringComparison.Ordinal) ||
                    name.Contains("wte", StringComparison.Ordinal) ||
                    name.Contains("wpe", StringComparison.Ordinal);
        // embed_out (GPT-NeoX's output head) comes after the layers despite its name.
        if (name.Contains("embed_out", StringComparison.Ordinal))
        {
            isPre = false;
        }

        return new TensorName(name, isPre ? TensorRole.PreLayer : TensorRole.PostLayer, -1, Escape(name));
    }

    private static string Escape(string part) => part.Replace("{", "{{", StringComparison.Ordinal)
        .Replace("}", "}}", StringComparison.Ordinal);
}
