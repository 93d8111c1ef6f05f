namespace MergeBuild.Methods;

/// <summary>Applies a keep mask the way torch's <c>tensor * mask</c> does.</summary>
internal static class SparsifyMask
{
    /// <summary>Multiplies each entry by 1 or 0 (so a dropped negative entry becomes −0 and NaN stays NaN, as in torch).</summary>
    public static void Apply(Span<float> values, ReadOnlySpan<bool> keep)
    {
        for (var i = 0; i < values.Length; i++)
        {
            values[i] *= keep[i] ? 1f : 0f;
        }
    }
}
