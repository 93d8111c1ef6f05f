using System.Runtime.CompilerServices;
namespace MergeBuild.Eval.Inference;

/// <summary>
/// Rotary position embeddings with Hugging Face's rotate-half convention: the head vector's two halves are the
/// real and imaginary parts, and frequency i is shared by dimensions i and i + head_dim/2. Cosines and sines are
/// tabulated per position on first use, so long prompts cost one trigonometric pass.
/// </summary>
internal sealed class RotaryEmbedding
{
    private readonly object _grow = new();
    private readonly float[] _inverseFrequencies;
    private float[] _cos = [];
    private float[] _sin = [];

    public RotaryEmbedding(int headDim, double theta, RopeScaling? scaling)
    {
        HeadDim = headDim;
        _inverseFrequencies = InverseFrequencies(headDim, theta, scaling);
    }

    public int HeadDim { get; }

    /// <summary>
    /// inv_freq[i] = 1 / theta^(2i/head_dim), in float32 as transformers computes it, then rescaled when the
    /// config asks for it.
    /// </summary>
    public static float[] InverseFrequencies(int headDim, double theta, RopeScaling? scaling)
    {
        var result = new float[headDim / 2];
        for (var i = 0; i < result.Length; i++)
        {
            var exponent = (2f * i) / headDim;
            result[i] = 1f / MathF.Pow((float)theta, exponent);
        }

        switch (scaling?.Kind)
        {
            case RopeScalingKind.Linear:
                for (var i = 0; i < result.Length; i++)
                {
                    result[i] = (float)(result[i] / scaling.Factor);
                }

                break;
            case RopeScalingKind.Llama3:
                ApplyLlama3(result, scaling);
                break;
        }

        return result;
    }

    // transformers' _compute_llama3_parameters: wavelengths longer than the original context divided by
    // low_freq_factor are slowed down by `factor`, those shorter than it divided by high_freq_factor are kept,
    // and the band between is a linear blend of the two in 1/wavelength.
    private static void ApplyLlama3(float[] inverse, RopeScaling s)
    {
        var lowFreqWavelength = s.OriginalMaxPositionEmbeddings / s.LowFreqFactor;
        var highFreqWavelength = s.OriginalMaxPositionEmbeddings / s.HighFreqFactor;
        for (var i = 0; i < inverse.Length; i++)
        {
            var frequency = (double)inverse[i];
            var wavelength = 2 * Math.PI / frequency;
            if (wavelength < highFreqWavelength)
            {
                continue;
            }

            if (wavelength > lowFreqWavelength)
            {
                inverse[i] = (float)(frequency / s.Factor);
                continue;
            }

            var smooth = (s.OriginalMaxPositionEmbeddings / wavelength - s.LowFreqFactor) /
                         (s.HighFreqFactor - s.LowFreqFactor);
            inverse[i] = (float)((1 - smooth) * frequency / s.Factor + smooth * frequency);
        }
    }

    /// <summary>Rotates every head of one row in place: <c>x' = x·cos + rotate_half(x)·sin</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Apply(Span<float> row, int heads, int position)
    {
        EnsurePositions(position + 1);
        var half = HeadDim / 2;
        // cos first: a table that has grown publishes sin before cos (see EnsurePositions).
        var cos = Volatile.Read(ref _cos).AsSpan(position * half, half);
        var sin = Volatile.Read(ref _sin).AsSpan(position * half, half);
        for (var h = 0; h < heads; h++)
        {
            var head = row.Slice(h * HeadDim, HeadDim);
            for (var i = 0; i < half; i++)
            {
                var x1 = head[i];
                var x2 = head[i + half];
                // Two products and a sum, no fused multiply-add: the rounding torch's elementwise ops give.
                head[i] = x1 * cos[i] + -x2 * sin[i];
                head[i + half] = x2 * cos[i] + x1 * sin[i];
            }
        }
    }

    /// <summary>Makes the table cover positions below <paramref name="count"/>; call before rotating in parallel.</summary>
    public void EnsurePositions(int count)
    {
        if (Volatile.Read(ref _cos).Length >= count * (HeadDim / 2))
        {
            return;
        }

        lock (_grow)
        {
            var half = HeadDim / 2;
            var have = _cos.Length / half;
            if (have >= count)
            {
                return;
            }

            var target = Math.Max(count, Math.Max(64, have * 2));
            var cos = new float[target * half];
            var sin = new float[target * half];
            _cos.CopyTo(cos, 0);
            _sin.CopyTo(sin, 0);
            for (var p = have; p < target; p++)
            {
                for (var i = 0; i < half; i++)
                {
                    // The angle is a float32 product, as transformers forms it, before the cosine is taken.
                    var angle = (float)p * _inverseFrequencies[i];
                    cos[p * half + i] = (float)Math.Cos(angle);
                    sin[p * half + i] = (float)Math.Sin(angle);
                }
            }

            // Publish sin before cos: readers test cos's length and then read both.
            Volatile.Write(ref _sin, sin);
            Volatile.Write(ref _cos, cos);
        }
    }
}
