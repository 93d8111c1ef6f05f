using MergeBuild.Methods;
using MergeBuild.Tensors;
using static MergeBuild.Core.Tests.Methods.MethodHarness;

namespace MergeBuild.Core.Tests.Methods;

/// <summary>
/// Runs a method's streaming merge (<see cref="IMergeMethod.Begin"/>) the way the executor drives it: statistics passes
/// over fresh chunks in order, then the output pass — in order, or, for independent chunks without statistics, in a
/// scrambled order — so tests can compare it with the whole-tensor <see cref="IMergeMethod.Merge"/>.
/// </summary>
internal static class StreamHarness
{
    /// <summary>The streamed output for chunks of <paramref name="chunk"/> elements.</summary>
    public static float[] Run(IMergeMethod method, IReadOnlyList<Input> inputs, float[] baseValues, int chunk,
        IReadOnlyDictionary<string, double>? parameters = null, long[]? shape = null, DType dtype = DType.F32,
        string tensorName = "model.layers.0.mlp.up_proj.weight", ulong seed = 1234)
    {
        var count = baseValues.Length;
        shape ??= [count];
        var job = Job(inputs, baseValues, parameters, shape, dtype, tensorName);
        var state = method.Begin(job);
        var buffers = new MergeBuffers(inputs.Count, true, Math.Max(1, chunk));
        var starts = Enumerable.Range(0, (count + chunk - 1) / chunk).Select(c => c * chunk).ToList();
        void Load(int start, int n)
        {
            for (var i = 0; i < inputs.Count; i++)
            {
                inputs[i].Values.AsSpan(start, n).CopyTo(buffers.Inputs[i]);
            }

            baseValues.AsSpan(start, n).CopyTo(buffers.Base);
        }

        for (var pass = 0; pass < state.StatisticsPasses; pass++)
        {
            foreach (var start in starts)
            {
                var n = Math.Min(chunk, count - start);
                Load(start, n);
                state.Observe(pass, buffers, new MergeChunk(start, n, seed));
            }

            state.EndPass(pass);
        }

        if (state.StatisticsPasses == 0 && state.ChunksAreIndependent)
        {
            // Independent chunks: any order must give the same bytes.
            starts.Reverse();
            starts = [.. starts.Where((_, i) => i % 2 == 0), .. starts.Where((_, i) => i % 2 == 1)];
        }

        var output = new float[count];
        foreach (var start in starts)
        {
            var n = Math.Min(chunk, count - start);
            Load(start, n);
            state.Merge(buffers, new MergeChunk(start, n, seed));
            buffers.Output.AsSpan(0, n).CopyTo(output.AsSpan(start));
        }

        return output;
    }

    /// <summary>The whole-tensor reference: <see cref="IMergeMethod.Merge"/> on one chunk holding every element.</summary>
    public static float[] Whole(IMergeMethod method, IReadOnlyList<Input> inputs, float[] baseValues,
        IReadOnlyDictionary<string, double>? parameters, long[] shape, DType dtype, string tensorName, ulong seed)
    {
        var job = Job(inputs, baseValues, parameters, shape, dtype, tensorName);
        var count = baseValues.Length;
        var buffers = new MergeBuffers(inputs.Count, true, count);
        for (var i = 0; i < inputs.Count; i++)
        {
            inputs[i].Values.CopyTo(buffers.Inputs[i], 0);
        }

        baseValues.CopyTo(buffers.Base!, 0);
        method.Merge(job, buffers, new MergeChunk(0, count, seed));
        return buffers.Output.AsSpan(0, count).ToArray();
    }

    /// <summary>The bit patterns, so NaN payloads and signed zeros compare exactly.</summary>
    public static uint[] Bits(float[] values) => values.Select(BitConverter.SingleToUInt32Bits).ToArray();
}
