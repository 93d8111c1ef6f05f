namespace MergeBuild.Eval.Tests.Support;

/// <summary>
/// A deliberately plain forward pass in double precision, written from the Hugging Face modeling code rather than
/// from the engine, to check the engine on synthetic models: no KV cache, no batching, no vectors.
/// </summary>
public static class NaiveLlama
{
    public static double[][] Logits(SyntheticModel m, int[] ids, double[] inverseFrequencies)
    {
        var t = m.Tensors;
        var T = ids.Length;
        var embeddings = t["model.embed_tokens.weight"];
        var h = ids.Select(id => embeddings.Skip(id * m.Hidden).Take(m.Hidden).Select(v => (double)v).ToArray())
            .ToArray();
        for (var l = 0; l < m.Layers; l++)
        {
            var p = $"model.layers.{l}.";
            var n1 = h.Select(x => RmsNorm(x, t[p + "input_layernorm.weight"])).ToArray();
            double[][] Project(string name) =>
                [.. n1.Select(x => Linear(x, t[p + name + ".weight"], t.GetValueOrDefault(p + name + ".bias")))];
            var q = Project("self_attn.q_proj");
            var k = Project("self_attn.k_proj");
            var v = Project("self_attn.v_proj");
            for (var pos = 0; pos < T; pos++)
            {
                Rope(q[pos], m.Heads, m.HeadDim, pos, inverseFrequencies);
                Rope(k[pos], m.KvHeads, m.HeadDim, pos, inverseFrequencies);
            }

            var attended = new double[T][];
            for (var i = 0; i < T; i++)
            {
                attended[i] = new double[m.Heads * m.HeadDim];
                for (var head = 0; head < m.Heads; head++)
                {
                    var kv = head / (m.Heads / m.KvHeads);
                    var first = m.SlidingWindow is { } w ? Math.Max(0, i - w + 1) : 0;
                    var scores = new double[i + 1 - first];
                    for (var j = first; j <= i; j++)
                    {
                        var dot = 0.0;
                        for (var d = 0; d < m.HeadDim; d++)
                        {
                            dot += q[i][head * m.HeadDim + d] * k[j][kv * m.HeadDim + d];
                        }

                        scores[j - first] = dot / Math.Sqrt(m.HeadDim);
                    }

                    var max = scores.Max();
                    var exp = scores.Select(s => Math.Exp(s - max)).ToArray();
                    var sum = exp.Sum();
                    for (var j = first; j <= i; j++)
                    {
                        for (var d = 0; d < m.HeadDim; d++)
                        {
                            attended[i][head * m.HeadDim + d] += exp[j - first] / sum * v[j][kv * m.HeadDim + d];
                        }
                    }
                }
            }

            for (var i = 0; i < T; i++)
            {
                var o = Linear(attended[i], t[p + "self_attn.o_proj.weight"], null);
                h[i] = h[i].Zip(o, (a, b) => a + b).ToArray();
                var n2 = RmsNorm(h[i], t[p + "post_attention_layernorm.weight"]);
                var gate = Linear(n2, t[p + "mlp.gate_proj.weight"], null);
                var up = Linear(n2, t[p + "mlp.up_proj.weight"], null);
                var act = gate.Zip(up, (g, u) => g / (1 + Math.Exp(-g)) * u).ToArray();
                var down = Linear(act, t[p + "mlp.down_proj.weight"], null);
                h[i] = h[i].Zip(down, (a, b) => a + b).ToArray();
            }
        }

        var output = m.Tied ? t["model.embed_tokens.weight"] : t["lm_head.weight"];
        return h.Select(x => Linear(RmsNorm(x, t["model.norm.weight"]), output, null)).ToArray();
    }

    private static double[] RmsNorm(double[] x, float[] weight)
    {
        var scale = 1 / Math.Sqrt(x.Sum(v => v * v) / x.Length + 1e-6);
        return x.Select((v, i) => v * scale * weight[i]).ToArray();
    }

    private static double[] Linear(double[] x, float[] weight, float[]? bias)
    {
        var outFeatures = weight.Length / x.Length;
        var y = new double[outFeatures];
        for (var o = 0; o < outFeatures; o++)
        {
            var sum = bias?[o] ?? 0.0;
            for (var i = 0; i < x.Length; i++)
            {
                sum += x[i] * weight[o * x.Length + i];
            }

            y[o] = sum;
        }

        return y;
    }

    // Rotate-half: dimension d pairs with d + headDim/2 and both use frequency d.
    private static void Rope(double[] row, int heads, int headDim, int position, double[] inverseFrequencies)
    {
        var half = headDim / 2;
        for (var head = 0; head < heads; head++)
        {
            var b = head * headDim;
            for (var d = 0; d < half; d++)
            {
                var angle = position * inverseFrequencies[d];
                var (x1, x2) = (row[b + d], row[b + d + half]);
                row[b + d] = x1 * Math.Cos(angle) - x2 * Math.Sin(angle);
                row[b + d + half] = x2 * Math.Cos(angle) + x1 * Math.Sin(angle);
            }
        }
    }
}
