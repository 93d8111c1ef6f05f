using MergeBuild.Tensors;

namespace MergeBuild.Methods;

/// <summary>
/// DARE sparsification (mergekit's <c>random</c>): keep each entry independently with probability density, then
/// optionally L1-rescale.
/// </summary>
/// <remarks>
/// mergekit draws <c>torch.bernoulli(full_like(d, density))</c> in a work dtype — bf16 for bf16 tensors (so the keep
/// probability is bf16(density): 0.3 → 0.30078125), float32 otherwise — rescales there and casts back. MergeBuild
/// keeps an entry when its counter-based uniform u &lt; p, which makes the mask a function of (seed, model, tensor,
/// index) alone.
/// </remarks>
internal static class BernoulliSparsifier
{
    public static void Apply(Span<float> delta, double density, bool rescale, DType dtype, CounterRandom random,
        long start)
    {
        if (density >= 1)
        {
            return;
        }

        var work = WorkDType.ForRandom(dtype);
        double p = FloatCodec.Round(work, (float)density);
        var before = rescale ? L1Rescale.Norm(delta, work) : 0f;
        for (var i = 0; i < delta.Length; i++)
        {
            delta[i] *= random.Uniform(start + i) < p ? 1f : 0f;
        }

        if (rescale)
        {
            L1Rescale.Apply(delta, before, work);
        }

        if (work != dtype)
        {
            FloatCodec.RoundTo(dtype, delta);
        }
    }
}
