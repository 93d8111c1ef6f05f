using MergeBuild.Methods;
using MergeBuild.Tensors;
using static MergeBuild.Core.Tests.Methods.MethodHarness;

namespace MergeBuild.Core.Tests.Methods;

/// <summary>
/// Runs a method the way the executor streams a tensor, without files: <see cref="IMergeMethod.Begin"/>, every
/// statistics pass over chunks of <c>chunk</c> elements in order, then the output pass — in reverse chunk order when
/// the method declares its output chunks independent, to show that it does not rely on the order.
/// </summary>
internal static class StreamingHarness
{
    public static float[] Run(IMergeMethod method, IReadOnlyList<Input> inputs, float[]? baseValues,
        IReadOnlyDictionary<string, double>? parameters, long[] shape, DType dtype, int chunk,
        string tensorName = "model.layers.0.mlp.up_proj.weight", ulong seed = 1234)
    {
        var count = inputs.Count > 0 ? inputs[0].Values.Length : baseValues!.Length;
        var job = Job(inputs, baseValues, parameters, shape, dtype, tensorName);
        var state = method.Begin(job);
        var buffers = new MergeBuffers(inputs.Count, baseValues is not null, chunk);
        var chunks = Enumerable.Range(0, (count + chunk - 1) / chunk)
            .Select(c => new MergeChunk((long)c * chunk, Math.Min(chunk, count - c * chunk), seed)).ToList();

        void Load(MergeChunk c)
        {
            // Stale values beyond the chunk, as the executor's reused buffers have.
            for (var i = 0; i < inputs.Count; i++)
            {
                Array.Fill(buffers.Inputs[i], float.NaN);
                inputs[i].Values.AsSpan((int)c.Start, c.Count).CopyTo(buffers.Inputs[i]);
            }

            if (baseValues is not null)
            {
                Array.Fill(buffers.Base!, float.NaN);
                baseValues.AsSpan((int)c.Start, c.Count).CopyTo(buffers.Base);
            }
        }

        for (var pass = 0; pass < state.StatisticsPasses; pass++)
        {
            foreach (var c in chunks)
            {
                Load(c);
                state.Observe(pass, buffers, c);
            }

            state.EndPass(pass);
        }

        var output = new float[count];
        var order = state.ChunksAreIndependent ? Enumerable.Reverse(chunks) : chunks;
        foreach (var c in order)
        {
            if (state.OutputPassReadsInputs)
            {
                Load(c);
            }

            Array.Fill(buffers.Output, float.NaN);
            state.Merge(buffers, c);
            buffers.Output.AsSpan(0, c.Count).CopyTo(output.AsSpan((int)c.Start));
        }

        return output;
    }
}
