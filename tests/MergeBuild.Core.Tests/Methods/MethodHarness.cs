using MergeBuild.Checkpoints;
using MergeBuild.Diagnostics;
using MergeBuild.Methods;
using MergeBuild.Planning;
using MergeBuild.Recipes;
using MergeBuild.Tensors;

namespace MergeBuild.Core.Tests.Methods;

/// <summary>
/// Runs a merge method on small in-memory tensors, without files: the way to test a method's arithmetic against
/// values computed by hand. Parameters are given already resolved, as the planner would hand them over.
/// </summary>
internal static class MethodHarness
{
    private static readonly SourceLocation Nowhere = new("test.yml", 1, 1);

    /// <summary>One model's values and per-model parameters.</summary>
    public sealed record Input(float[] Values, IReadOnlyDictionary<string, double>? Parameters = null);

    /// <summary>
    /// Runs <paramref name="method"/> over the whole tensor in one call (or in chunks of <paramref name="chunk"/>
    /// elements for element-wise methods) and returns the float32 output (already rounded to <paramref name="dtype"/>).
    /// </summary>
    public static float[] Run(IMergeMethod method, IReadOnlyList<Input> inputs, float[]? baseValues = null,
        IReadOnlyDictionary<string, double>? parameters = null, long[]? shape = null, DType dtype = DType.F32,
        string tensorName = "model.layers.0.mlp.up_proj.weight", ulong seed = 1234, int? chunk = null)
    {
        var count = inputs.Count > 0 ? inputs[0].Values.Length : baseValues!.Length;
        shape ??= [count];
        var job = Job(inputs, baseValues, parameters, shape, dtype, tensorName);
        var output = new float[count];
        var step = method.IsElementwise && chunk is { } c ? c : count;
        for (var start = 0; start < count; start += step)
        {
            var n = Math.Min(step, count - start);
            var buffers = new MergeBuffers(inputs.Count, baseValues is not null, n);
            for (var i = 0; i < inputs.Count; i++)
            {
                inputs[i].Values.AsSpan(start, n).CopyTo(buffers.Inputs[i]);
            }

            baseValues?.AsSpan(start, n).CopyTo(buffers.Base);
            method.Merge(job, buffers, new MergeChunk(start, n, seed));
            buffers.Output.AsSpan(0, n).CopyTo(output.AsSpan(start));
        }

        return output;
    }

    /// <summary>A job as the planner would build it for these inputs.</summary>
    public static TensorJob Job(IReadOnlyList<Input> inputs, float[]? baseValues,
        IReadOnlyDictionary<string, double>? parameters, long[] shape, DType dtype, string tensorName)
    {
        var byteLength = shape.Aggregate(1L, (a, b) => a * b) * DTypes.SizeOf(dtype);
        JobInput Make(int index, IReadOnlyDictionary<string, double>? values) => new(
            new PlannedModel(index, new ModelReference($"model{index}", null, null, Nowhere), null!),
            new TensorInfo(tensorName, dtype, shape, 0, byteLength),
            values ?? new Dictionary<string, double>(),
            Nowhere);

        return new TensorJob
        {
            OutputName = tensorName,
            Role = TensorName.Parse(tensorName).Role,
            OutputLayer = 0,
            Shape = shape,
            ComputeDType = dtype,
            OutputDType = dtype,
            Inputs = inputs.Select((input, i) => Make(i, input.Parameters)).ToList(),
            Base = baseValues is null ? null : Make(inputs.Count, null),
            Parameters = parameters ?? new Dictionary<string, double>(),
            T = 0,
        };
    }

    public static Dictionary<string, double> P(params (string Name, double Value)[] values) =>
        values.ToDictionary(v => v.Name, v => v.Value);
}
