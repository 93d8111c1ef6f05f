using System.Numerics.Tensors;
using System.Runtime.CompilerServices;

namespace MergeBuild.Eval.Inference;

/// <summary>
/// Causal grouped-query attention of a batch of rows against their sessions' KV caches: query head h reads key/value
/// head h / (heads / kv_heads), sees positions up to its own (and, with a sliding window, no further back than the
/// window), scores are q·k / sqrt(head_dim) and the softmax is float32, as in transformers' eager attention.
/// </summary>
internal static class Attention
{
    // Rows × heads × context × head_dim below which threads are not worth starting.
    private const long ParallelThreshold = 1L << 18;

    /// <param name="qkv">The projected rows [rows, qkvWidth]; queries are the first heads × head_dim columns.</param>
    /// <param name="caches">Per row, the session cache already holding this row's key and value.</param>
    /// <param name="positions">Per row, its position in its session.</param>
    /// <param name="output">Receives [rows, heads × head_dim].</param>
    public static void Run(LlamaConfig config, int layer, float[] qkv, int qkvWidth, KvCache[] caches,
        int[] positions, float[] output, int maxThreads)
    {
        var rows = positions.Length;
        var headDim = config.HeadDim;
        var work = positions.Sum(p => (long)p + 1) * config.NumHeads * headDim;

        void Row(int r) => AttendRow(config, layer, qkv.AsSpan(r * qkvWidth, config.NumHeads * headDim),
            caches[r], positions[r], output.AsSpan(r * config.NumHeads * headDim, config.NumHeads * headDim));

        if (maxThreads <= 1 || rows == 1 || work < ParallelThreshold)
        {
            for (var r = 0; r < rows; r++)
            {
                Row(r);
            }
        }
        else
        {
            Parallel.For(0, rows, new ParallelOptions { MaxDegreeOfParallelism = maxThreads }, Row);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void AttendRow(LlamaConfig config, int layer, ReadOnlySpan<float> queries, KvCache cache,
        int position, Span<float> output)
    {
        var headDim = config.HeadDim;
        var group = config.NumHeads / config.NumKeyValueHeads;
        var start = config.SlidingWindow is { } window ? Math.Max(0, position - window + 1) : 0;
        var count = position - start + 1;
        var scale = (float)(1.0 / Math.Sqrt(headDim));
        var keys = cache.Keys(layer);
        var values = cache.Values(layer);
        var width = cache.RowWidth;
        // Long contexts take the heap; short ones (the usual case) the stack.
        var heap = count > 1024 ? new float[count] : null;
        Span<float> scores = heap is null ? stackalloc float[count] : heap;
        for (var h = 0; h < config.NumHeads; h++)
        {
            var q = queries.Slice(h * headDim, headDim);
            var kvOffset = h / group * headDim;
            for (var t = 0; t < count; t++)
            {
                scores[t] = FixedOrder.Dot(q, keys.AsSpan((start + t) * width + kvOffset, headDim)) * scale;
            }

            var max = TensorPrimitives.Max(scores);
            TensorPrimitives.Subtract(scores, max, scores);
            TensorPrimitives.Exp(scores, scores);
            TensorPrimitives.Divide(scores, FixedOrder.Sum(scores), scores);

            FixedOrder.WeightedSum(scores, values, start * width + kvOffset, width, output.Slice(h * headDim, headDim));
        }
    }
}
