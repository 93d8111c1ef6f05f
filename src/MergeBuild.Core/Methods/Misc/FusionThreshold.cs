using System.Runtime.CompilerServices;
using MergeBuild.Tensors;

namespace MergeBuild.Methods.Misc;

/// <summary>
/// Arcee Fusion's dynamic threshold, streamed: median + 1.5·IQR of the importance scores, with mergekit's quantile
/// rule Q(q) = sorted[(long)(float32(q) · float32(|S| − 1))], the three order statistics found by
/// <see cref="RadixSelect"/> (one counting pass, a second only for scores that are not bf16 values).
/// </summary>
/// <remarks>
/// The order is torch.sort's: ascending, NaN last, −0 equal to +0. mergekit estimates the quantiles from 10⁶
/// elements drawn with torch's global RNG when a tensor has more, so its threshold depends on the RNG state and on
/// the order tensors are processed. MergeBuild always uses every element: for tensors of at most 10⁶ elements that is
/// exactly mergekit's value, for larger ones it is the value mergekit's sample estimates, and it depends on nothing
/// but the tensor.
/// </remarks>
internal sealed class FusionThreshold
{
    private static readonly float[] Quantiles = [0.25f, 0.5f, 0.75f];

    private readonly RadixSelect radix = new();
    private readonly (uint Bucket, long RankInBucket, bool Refined)[] targets = new (uint, long, bool)[3];
    private uint lowBits;

    public static long StateBytes => RadixSelect.StateBytes;

    /// <summary>The sort key: unsigned order = torch.sort's order (NaN last, −0 as +0).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Key(float score)
    {
        if (float.IsNaN(score))
        {
            return uint.MaxValue;
        }

        var bits = BitConverter.SingleToUInt32Bits(score == 0 ? 0f : score);
        return (bits & 0x80000000u) == 0 ? bits | 0x80000000u : ~bits;
    }

    /// <summary>The score a key stands for (NaN for the NaN key).</summary>
    private static float Value(uint key) =>
        key == uint.MaxValue ? float.NaN
        : BitConverter.UInt32BitsToSingle((key & 0x80000000u) != 0 ? key & 0x7FFFFFFFu : ~key);

    /// <summary>First pass: counts the scores.</summary>
    public void Count(ReadOnlySpan<float> scores)
    {
        var low = lowBits;
        foreach (var score in scores)
        {
            radix.AddHigh(Key(score));
            // NaN scores have their own bucket, whatever their low bits.
            low |= float.IsNaN(score) ? 0 : BitConverter.SingleToUInt32Bits(score);
        }

        lowBits = low;
    }

    /// <summary>After the first pass: locates the three quantiles; true when a second (refining) pass is needed.</summary>
    public bool Locate()
    {
        var last = (float)(radix.Count - 1);
        for (var q = 0; q < 3; q++)
        {
            var rank = (long)(Quantiles[q] * last);
            var (bucket, below, _) = radix.Locate(rank);
            // One value per bucket when every score's low 16 bits are zero (bf16 scores) and for the NaN bucket.
            var refine = (lowBits & 0xFFFF) != 0 && bucket != 0xFFFF;
            if (refine)
            {
                radix.Refine(bucket);
            }

            targets[q] = (bucket, rank - below, refine);
        }

        return radix.NeedsSecondPass;
    }

    /// <summary>Second pass: counts the scores' low key bits.</summary>
    public void Refine(ReadOnlySpan<float> scores)
    {
        foreach (var score in scores)
        {
            radix.AddLow(Key(score));
        }
    }

    /// <summary>The threshold in the compute dtype: D(median + D(1.5 · D(Q(0.75) − Q(0.25)))).</summary>
    public float Threshold(DType dtype)
    {
        var q = new float[3];
        for (var i = 0; i < 3; i++)
        {
            var (bucket, rank, refined) = targets[i];
            var key = refined ? radix.KeyAt(bucket, rank)
                : bucket == 0xFFFF ? uint.MaxValue
                : (bucket << 16) | (bucket >= 0x8000 ? 0u : 0xFFFFu);
            q[i] = Value(key);
        }

        var spread = FloatCodec.Round(dtype, 1.5f * FloatCodec.Round(dtype, q[2] - q[0]));
        return FloatCodec.Round(dtype, q[1] + spread);
    }
}
