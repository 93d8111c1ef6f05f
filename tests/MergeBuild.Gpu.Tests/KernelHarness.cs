using MergeBuild.Checkpoints;
using MergeBuild.Diagnostics;
using MergeBuild.Gpu.Methods;
using MergeBuild.Methods;
using MergeBuild.Planning;
using MergeBuild.Recipes;
using MergeBuild.Tensors;

namespace MergeBuild.Gpu.Tests;

/// <summary>
/// Runs a CPU method and its GPU kernel (on the emulator) over the same in-memory chunks and compares the output
/// bit for bit.
/// </summary>
internal static class KernelHarness
{
    private static readonly SourceLocation Nowhere = new("test.yml", 1, 1);

    public static void AssertSameBits(IMergeMethod cpu, float[][] inputs, float[]? baseValues, DType dtype,
        IReadOnlyDictionary<string, double>? parameters = null,
        IReadOnlyList<IReadOnlyDictionary<string, double>>? perModel = null, int? chunk = null)
    {
        OneNonFinitePerElement(inputs, baseValues);
        var job = Job(inputs.Length, baseValues is not null, inputs[0].Length, dtype, parameters, perModel);
        var expected = Run(cpu, job, inputs, baseValues, chunk);
        foreach (var engine in Emulator.Engines)
        {
            var gpu = new GpuMethodProvider(engine).Resolve(cpu);
            Assert.IsAssignableFrom<GpuMethod>(gpu);
            var actual = Run(gpu, job, inputs, baseValues, chunk);
            for (var i = 0; i < expected.Length; i++)
            {
                if (Bits.Of(expected[i]) != Bits.Of(actual[i]))
                {
                    var operands = string.Join(", ", inputs.Select(x => $"{Bits.Of(x[i]):X8}"));
                    var b = baseValues is null ? "" : $", base {Bits.Of(baseValues[i]):X8}";
                    Assert.Fail($"{cpu.Name} {dtype} on {engine.DeviceName}, element {i}: CPU {Bits.Of(expected[i]):X8} " +
                                $"({expected[i]}), GPU {Bits.Of(actual[i]):X8} ({actual[i]}); inputs {operands}{b}");
                }
            }
        }
    }

    /// <summary>
    /// Keeps at most one non-finite value per element across the operands. Where two NaNs meet in an addition or
    /// multiplication x86 returns the first operand's payload, and which operand is "first" is the JIT's choice (it
    /// may swap a commutative operation's operands), so the CPU's own payload is not fixed there; two infinities can
    /// make two NaNs (∞ − ∞). See docs/gpu.md.
    /// </summary>
    private static void OneNonFinitePerElement(float[][] inputs, float[]? baseValues)
    {
        var operands = baseValues is null ? inputs : [.. inputs, baseValues];
        for (var i = 0; i < operands[0].Length; i++)
        {
            var seen = false;
            foreach (var values in operands)
            {
                if (!float.IsFinite(values[i]))
                {
                    values[i] = seen ? 0f : values[i];
                    seen = true;
                }
            }
        }
    }

    /// <summary>Calls <paramref name="method"/> chunk by chunk on fresh copies (methods may overwrite their inputs).</summary>
    private static float[] Run(IMergeMethod method, TensorJob job, float[][] inputs, float[]? baseValues, int? chunk)
    {
        var count = inputs[0].Length;
        var step = chunk ?? count;
        var output = new float[count];
        for (var start = 0; start < count; start += step)
        {
            var n = Math.Min(step, count - start);
            var buffers = new MergeBuffers(inputs.Length, baseValues is not null, n);
            for (var i = 0; i < inputs.Length; i++)
            {
                inputs[i].AsSpan(start, n).CopyTo(buffers.Inputs[i]);
            }

            baseValues?.AsSpan(start, n).CopyTo(buffers.Base);
            method.Merge(job, buffers, new MergeChunk(start, n, 1234));
            buffers.Output.AsSpan(0, n).CopyTo(output.AsSpan(start));
        }

        return output;
    }

    private static TensorJob Job(int models, bool hasBase, int count, DType dtype,
        IReadOnlyDictionary<string, double>? parameters, IReadOnlyList<IReadOnlyDictionary<string, double>>? perModel)
    {
        const string Name = "model.layers.0.mlp.up_proj.weight";
        long[] shape = [count];
        JobInput Make(int index, IReadOnlyDictionary<string, double>? values) => new(
            new PlannedModel(index, new ModelReference($"model{index}", null, null, Nowhere), null!),
            new TensorInfo(Name, dtype, shape, 0, count * DTypes.SizeOf(dtype)),
            values ?? new Dictionary<string, double>(),
            Nowhere);

        return new TensorJob
        {
            OutputName = Name,
            Role = TensorName.Parse(Name).Role,
            OutputLayer = 0,
            Shape = shape,
            ComputeDType = dtype,
            OutputDType = dtype,
            Inputs = Enumerable.Range(0, models).Select(i => Make(i, perModel?[i])).ToList(),
            Base = hasBase ? Make(models, null) : null,
            Parameters = parameters ?? new Dictionary<string, double>(),
            T = 0,
        };
    }

    public static Dictionary<string, double> P(params (string Name, double Value)[] values) =>
        values.ToDictionary(v => v.Name, v => v.Value);
}
