using System.Text;

namespace MergeBuild.Methods;

/// <summary>
/// MergeBuild's random numbers: a counter-based generator keyed by (seed, model index, tensor name, element index).
/// Each element's draw is a pure function of those four values, so results do not depend on thread count, chunking,
/// visiting order or device — unlike mergekit, which consumes torch's global RNG stream in hash order.
/// </summary>
/// <remarks>
/// key = seed + FNV-1a-64(UTF-8 of "<c>{model}:{tensor}</c>") (mod 2^64); the draw for element j is
/// SplitMix64's finalizer applied to key + (j + 1)·0x9E3779B97F4A7C15, and the uniform u = (z >> 11)·2^-53 in [0, 1).
/// This is the generator the shared fixtures document for their DARE rows.
/// </remarks>
public readonly struct CounterRandom
{
    private const ulong FnvOffset = 0xCBF29CE484222325;
    private const ulong FnvPrime = 0x100000001B3;
    private const ulong Golden = 0x9E3779B97F4A7C15;

    private readonly ulong key;

    public CounterRandom(ulong seed, int modelIndex, string tensorName)
    {
        ArgumentNullException.ThrowIfNull(tensorName);
        var hash = FnvOffset;
        foreach (var b in Encoding.UTF8.GetBytes($"{modelIndex}:{tensorName}"))
        {
            hash = (hash ^ b) * FnvPrime;
        }

        key = unchecked(seed + hash);
    }

    /// <summary>The per-(seed, model, tensor) key the draws are computed from (for the vectorized kernels).</summary>
    internal ulong Key => key;

    /// <summary>The uniform draw in [0, 1) for flat element <paramref name="index"/>.</summary>
    public double Uniform(long index)
    {
        unchecked
        {
            var z = key + ((ulong)index + 1) * Golden;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
            z ^= z >> 31;
            return (z >> 11) * (1.0 / (1UL << 53));
        }
    }
}
