using System.Numerics.Tensors;
using System.Runtime.CompilerServices;

namespace MergeBuild.Eval.Inference;

public sealed partial class LlamaModel
{
    // Rows (token positions) one forward call processes at most; larger requests are split so activations stay
    // bounded (gate/up alone take rows × 2 × intermediate floats).
    private const int MaxRowsPerCall = 4096;

    /// <summary>
    /// Feeds each session its tokens and returns the logits after each session's last token, [sessions, vocab].
    /// Splits the work into calls of at most <paramref name="maxRows"/> rows; the logits are the same either way.
    /// </summary>
    internal float[] ForwardLast(IReadOnlyList<InferenceSession> sessions, IReadOnlyList<int[]> tokens,
        int maxRows = MaxRowsPerCall)
    {
        var result = new float[sessions.Count * VocabSize];
        var start = 0;
        while (start < sessions.Count)
        {
            // Take sessions while their tokens fit; a single oversized one is fed alone in slices.
            var end = start;
            var rows = 0;
            while (end < sessions.Count && (end == start || rows + tokens[end].Length <= maxRows))
            {
                rows += tokens[end].Length;
                end++;
            }

            float[] logits;
            if (end - start == 1 && tokens[start].Length > maxRows)
            {
                logits = [];
                for (var offset = 0; offset < tokens[start].Length; offset += maxRows)
                {
                    var slice = tokens[start][offset..Math.Min(tokens[start].Length, offset + maxRows)];
                    logits = Forward([sessions[start]], [slice], allPositions: false);
                }
            }
            else
            {
                logits = Forward([.. sessions.Skip(start).Take(end - start)], [.. tokens.Skip(start).Take(end - start)],
                    allPositions: false);
            }

            logits.CopyTo(result, start * VocabSize);
            start = end;
        }

        return result;
    }

    /// <summary>
    /// One forward pass over a ragged batch: session s receives tokens[s] at positions Length.., its KV cache is
    /// extended and its Length advanced. Returns float32 logits for every fed position ([Σ tokens, vocab]) or for
    /// each session's last one ([sessions, vocab]).
    /// </summary>
    internal float[] Forward(IReadOnlyList<InferenceSession> sessions, IReadOnlyList<int[]> tokens, bool allPositions)
    {
        var rows = CollectRows(sessions, tokens, out var caches, out var positions, out var ids);
        var hiddenSize = Config.HiddenSize;
        var queryWidth = Config.NumHeads * Config.HeadDim;
        var kvWidth = Config.NumKeyValueHeads * Config.HeadDim;
        var qkvWidth = queryWidth + 2 * kvWidth;
        var intermediate = Config.IntermediateSize;

        var hidden = new float[rows * hiddenSize];
        for (var r = 0; r < rows; r++)
        {
            _embeddings.AsSpan(ids[r] * hiddenSize, hiddenSize).CopyTo(hidden.AsSpan(r * hiddenSize));
        }

        var normed = new float[rows * hiddenSize];
        var qkv = new float[rows * qkvWidth];
        var attention = new float[rows * queryWidth];
        var projected = new float[rows * hiddenSize];
        var gateUp = new float[rows * 2 * intermediate];
        var activated = new float[rows * intermediate];
        _rope.EnsurePositions(positions.Max() + 1);

        for (var l = 0; l < _layers.Length; l++)
        {
            var layer = _layers[l];
            RmsNorm(hidden, layer.InputNorm, normed, rows);
            MatMul.Multiply(normed, rows, layer.QueryKeyValue, qkv, MaxThreads);
            for (var r = 0; r < rows; r++)
            {
                var row = qkv.AsSpan(r * qkvWidth, qkvWidth);
                _rope.Apply(row[..queryWidth], Config.NumHeads, positions[r]);
                _rope.Apply(row.Slice(queryWidth, kvWidth), Config.NumKeyValueHeads, positions[r]);
                row.Slice(queryWidth, kvWidth).CopyTo(caches[r].Keys(l).AsSpan(positions[r] * kvWidth));
                row.Slice(queryWidth + kvWidth, kvWidth).CopyTo(caches[r].Values(l).AsSpan(positions[r] * kvWidth));
            }

            Attention.Run(Config, l, qkv, qkvWidth, caches, positions, attention, MaxThreads);
            MatMul.Multiply(attention, rows, layer.Output, projected, MaxThreads);
            TensorPrimitives.Add(hidden, projected, hidden);

            RmsNorm(hidden, layer.PostAttentionNorm, normed, rows);
            MatMul.Multiply(normed, rows, layer.GateUp, gateUp, MaxThreads);
            for (var r = 0; r < rows; r++)
            {
                var gate = gateUp.AsSpan(2 * r * intermediate, intermediate);
                var up = gateUp.AsSpan((2 * r + 1) * intermediate, intermediate);
                var output = activated.AsSpan(r * intermediate, intermediate);
                // silu(g) · u = g · sigmoid(g) · u, row by row so every element takes the same code path.
                TensorPrimitives.Sigmoid(gate, output);
                TensorPrimitives.Multiply(output, gate, output);
                TensorPrimitives.Multiply(output, up, output);
            }

            MatMul.Multiply(activated, rows, layer.Down, projected, MaxThreads);
            TensorPrimitives.Add(hidden, projected, hidden);
        }

        for (var s = 0; s < sessions.Count; s++)
        {
            sessions[s].Length += tokens[s].Length;
        }

        return Head(hidden, rows, allPositions ? null : tokens);
    }

    private int CollectRows(IReadOnlyList<InferenceSession> sessions, IReadOnlyList<int[]> tokens,
        out KvCache[] caches, out int[] positions, out int[] ids)
    {
        if (sessions.Count != tokens.Count || sessions.Count == 0)
        {
            throw new ArgumentException("One token list per session is needed.", nameof(tokens));
        }

        if (sessions.Distinct().Count() != sessions.Count)
        {
            throw new ArgumentException("A session can appear only once in a batch.", nameof(sessions));
        }

        var rows = tokens.Sum(t => t.Length);
        caches = new KvCache[rows];
        positions = new int[rows];
        ids = new int[rows];
        var r = 0;
        for (var s = 0; s < sessions.Count; s++)
        {
            var session = sessions[s];
            if (session.Model != this)
            {
                throw new ArgumentException("The session belongs to another model.", nameof(sessions));
            }

            if (tokens[s].Length == 0)
            {
                throw new ArgumentException("Every session needs at least one token.", nameof(tokens));
            }

            session.Cache.EnsureCapacity(session.Length + tokens[s].Length);
            for (var j = 0; j < tokens[s].Length; j++, r++)
            {
                var id = tokens[s][j];
                if ((uint)id >= (uint)VocabSize)
                {
                    throw new ArgumentOutOfRangeException(nameof(tokens),
                        $"Token id {id} is outside the vocabulary (size {VocabSize}).");
                }

                caches[r] = session.Cache;
                positions[r] = session.Length + j;
                ids[r] = id;
            }
        }

        return rows;
    }

    // Final norm and lm_head, for every row or (lastOf given) for the last row of each session only.
    private float[] Head(float[] hidden, int rows, IReadOnlyList<int[]>? lastOf)
    {
        var hiddenSize = Config.HiddenSize;
        float[] selected;
        int count;
        if (lastOf is null)
        {
            selected = hidden;
            count = rows;
        }
        else
        {
            count = lastOf.Count;
            selected = new float[count * hiddenSize];
            var end = 0;
            for (var s = 0; s < count; s++)
            {
                end += lastOf[s].Length;
                hidden.AsSpan((end - 1) * hiddenSize, hiddenSize).CopyTo(selected.AsSpan(s * hiddenSize));
            }
        }

        var normed = new float[count * hiddenSize];
        RmsNorm(selected, _finalNorm, normed, count);
        var logits = new float[count * VocabSize];
        MatMul.Multiply(normed, count, _head, logits, MaxThreads);
        return logits;
    }

    // weight · (x / sqrt(mean(x²) + eps)) per row, in float32 and in that order (transformers' LlamaRMSNorm).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void RmsNorm(float[] input, float[] weight, float[] output, int rows)
    {
        var width = weight.Length;
        for (var r = 0; r < rows; r++)
        {
            var x = input.AsSpan(r * width, width);
            var y = output.AsSpan(r * width, width);
            var meanSquare = FixedOrder.SumOfSquares(x) / width;
            var scale = 1f / MathF.Sqrt(meanSquare + Config.RmsNormEps);
            TensorPrimitives.Multiply(x, scale, y);
            TensorPrimitives.Multiply(y, weight, y);
        }
    }
}
