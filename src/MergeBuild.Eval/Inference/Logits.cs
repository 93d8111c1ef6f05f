using System.Runtime.CompilerServices;
namespace MergeBuild.Eval.Inference;

/// <summary>Reading decisions and probabilities off one position's logits.</summary>
public static class Logits
{
    /// <summary>The index of the largest logit; the lowest such index on a tie (as torch.argmax).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int ArgMax(ReadOnlySpan<float> logits)
    {
        var best = 0;
        for (var i = 1; i < logits.Length; i++)
        {
            if (logits[i] > logits[best])
            {
                best = i;
            }
        }

        return best;
    }

    /// <summary>Largest minus second-largest logit: how close a greedy choice was to a tie.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float TopGap(ReadOnlySpan<float> logits)
    {
        var first = float.NegativeInfinity;
        var second = float.NegativeInfinity;
        foreach (var value in logits)
        {
            if (value > first)
            {
                second = first;
                first = value;
            }
            else if (value > second)
            {
                second = value;
            }
        }

        return first - second;
    }

    /// <summary>log softmax(logits)[target], accumulated in double in index order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static double LogSoftmax(ReadOnlySpan<float> logits, int target)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(target);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(target, logits.Length);
        double max = logits[ArgMax(logits)];
        var sum = 0.0;
        foreach (var value in logits)
        {
            sum += Math.Exp(value - max);
        }

        return logits[target] - max - Math.Log(sum);
    }
}
