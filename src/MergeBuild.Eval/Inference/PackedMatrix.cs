namespace MergeBuild.Eval.Inference;

/// <summary>
/// A linear layer's weight [out, in] (torch layout) repacked for <see cref="MatMul"/>: output features are grouped in
/// panels of <see cref="PanelWidth"/>, and panel p stores, for each input feature i, the 16 weights
/// W[16p .. 16p+15, i] contiguously. The kernel then reads one aligned vector per input feature and never needs a
/// horizontal sum. The last panel is padded with zero weights.
/// </summary>
internal sealed class PackedMatrix
{
    public const int PanelWidth = 16;

    private PackedMatrix(int rows, int columns, float[] panels, float[]? bias)
    {
        OutFeatures = rows;
        InFeatures = columns;
        Panels = panels;
        Bias = bias;
    }

    public int OutFeatures { get; }

    public int InFeatures { get; }

    public int PanelCount => (OutFeatures + PanelWidth - 1) / PanelWidth;

    /// <summary>The packed weights: <see cref="PanelCount"/> × <see cref="InFeatures"/> × 16 floats.</summary>
    public float[] Panels { get; }

    /// <summary>The bias padded to whole panels, or null when the layer has none.</summary>
    public float[]? Bias { get; }

    /// <summary>
    /// Packs several [out_k, in] matrices stacked along the output dimension (e.g. q, k and v projections, so
    /// one pass computes all three). Biases are per part; a part without one contributes zeros.
    /// </summary>
    public static PackedMatrix Pack(int inFeatures, IReadOnlyList<(float[] Weight, float[]? Bias)> parts)
    {
        ArgumentNullException.ThrowIfNull(parts);
        var rows = parts.Sum(p => p.Weight.Length / inFeatures);
        var panelCount = (rows + PanelWidth - 1) / PanelWidth;
        var panels = new float[(long)panelCount * inFeatures * PanelWidth];
        var anyBias = parts.Any(p => p.Bias is not null);
        var bias = anyBias ? new float[panelCount * PanelWidth] : null;
        var row = 0;
        foreach (var (weight, partBias) in parts)
        {
            var partRows = weight.Length / inFeatures;
            for (var r = 0; r < partRows; r++, row++)
            {
                var panelStart = (long)(row / PanelWidth) * inFeatures * PanelWidth;
                var lane = row % PanelWidth;
                var source = weight.AsSpan(r * inFeatures, inFeatures);
                for (var i = 0; i < inFeatures; i++)
                {
                    panels[panelStart + (long)i * PanelWidth + lane] = source[i];
                }

                if (bias is not null && partBias is not null)
                {
                    bias[row] = partBias[r];
                }
            }
        }

        return new PackedMatrix(rows, inFeatures, panels, bias);
    }
}
