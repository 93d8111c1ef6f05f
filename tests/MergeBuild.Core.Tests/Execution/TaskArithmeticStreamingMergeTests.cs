using MergeBuild.Execution;
using MergeBuild.Methods;
using MergeBuild.Planning;
using MergeBuild.Tensors;
using MergeBuild.Tests;

namespace MergeBuild.Core.Tests.Execution;

/// <summary>
/// The streamed task-arithmetic family end to end: the executor's bytes for every chunk size, window size and thread
/// count equal each other and the whole-tensor <see cref="IMergeMethod.Merge"/> computed from the same fixture tensors.
/// </summary>
public class TaskArithmeticStreamingMergeTests
{
    /// <remarks>
    /// On these bf16 checkpoints the output pass runs fused (<c>StoredMaskedMix</c>) up to the last whole 32 elements
    /// of a chunk and finishes it unfused: TIES, breadcrumbs and breadcrumbs-TIES without rescale (with it, unfused),
    /// DELLA from the bits its statistics pass kept, for chunks that start on a 16-bit word of them (chunks of 77 do
    /// not), and DARE from those bits or, where there are none (no rescale, or chunks of 77), drawing in the kernel.
    /// The fused kernel computes in float32 when the recipe does and its output is bf16 (<c>out_dtype</c>).
    /// </remarks>
    public static TheoryData<string, string, string, bool> Recipes() => new()
    {
        { "task_arithmetic", "weight: 0.4", "bfloat16", true },
        { "ties", "weight: 1.0, density: 0.3", "bfloat16", true },
        { "ties", "weight: 1.0, density: 0.3", "bfloat16", false },
        { "ties", "weight: 0.8, density: 0.5", "float32", true },
        { "ties", "weight: 0.8, density: 0.5", "float32\nout_dtype: bfloat16", false },
        { "dare_ties", "weight: 0.7, density: 0.4", "bfloat16", true },
        { "dare_ties", "weight: 0.7, density: 0.4", "bfloat16", false },
        { "dare_linear", "weight: 0.5, density: 0.6", "float32", true },
        { "dare_linear", "weight: 0.5, density: 0.6", "bfloat16", true },
        { "dare_linear", "weight: 0.9, density: 0.3", "float32\nout_dtype: bfloat16", true },
        { "breadcrumbs", "weight: 1.0, density: 0.8, gamma: 0.05", "bfloat16", true },
        { "breadcrumbs", "weight: 0.7, density: 0.8, gamma: 0.05", "bfloat16", false },
        { "breadcrumbs_ties", "weight: 1.0, density: 0.5, gamma: 0.02", "float32", true },
        { "breadcrumbs_ties", "weight: 0.6, density: 0.5, gamma: 0.02", "bfloat16", false },
        { "della", "weight: 1.0, density: 0.5, epsilon: 0.1", "bfloat16", true },
        { "della_linear", "weight: 0.4, density: 0.3, epsilon: 0.2", "float32", true },
        { "della_linear", "weight: 0.4, density: 0.3, epsilon: 0.2", "bfloat16", true },
        { "della", "weight: 0.8, density: 0.5, epsilon: 0.1", "bfloat16", false },
    };

    [Theory]
    [MemberData(nameof(Recipes))]
    public void Bytes_do_not_depend_on_chunks_windows_or_threads_and_equal_the_whole_tensor_merge(string method,
        string parameters, string dtype, bool rescale)
    {
        using var temp = new TempFolder();
        var yaml = $$"""
            merge_method: {{method}}
            base_model: {models}/base
            models:
              - model: {models}/shipping
                parameters: {{{parameters}}}
              - model: {models}/refunds
                parameters: {{{parameters}}}
              - model: {models}/catalog
                parameters: {{{parameters}}}
            parameters:
              rescale: {{(rescale ? "true" : "false")}}
            dtype: {{dtype}}
            """;
        var runs = new (int Threads, int Chunk, int Window)[] { (1, 1 << 14, 1 << 20), (2, 77, 1000), (8, 4096, 4096), (3, 4096, 77 * 13) };
        Dictionary<string, RawSafetensors.Tensor>? first = null;
        foreach (var (threads, chunk, window) in runs)
        {
            var options = new MergeOptions { Threads = threads, ChunkElements = chunk, WindowElements = window, WriteModelCard = false };
            var merged = RawSafetensors.ReadFolder(MergeRunner.Merge(temp, yaml, options, $"out-{threads}-{chunk}-{window}"));
            first ??= merged;
            foreach (var (name, tensor) in first)
            {
                Assert.True(tensor.Data.AsSpan().SequenceEqual(merged[name].Data),
                    $"{method}: {name} differs with {threads} threads, chunks of {chunk}, windows of {window}");
            }
        }

        Assert.True(MergeMethods.TryGet(method, out var reference));
        var models = new Dictionary<string, Dictionary<string, RawSafetensors.Tensor>>();
        foreach (var job in MergeRunner.Plan(temp, yaml).Jobs)
        {
            var expected = Whole(reference, job, models);
            Assert.True(expected.AsSpan().SequenceEqual(first![job.OutputName].Data), $"{method}: {job.OutputName} differs from the whole-tensor merge");
        }
    }

    /// <summary>The job's output bytes from one whole-tensor <see cref="IMergeMethod.Merge"/> call.</summary>
    private static byte[] Whole(IMergeMethod method, TensorJob job,
        Dictionary<string, Dictionary<string, RawSafetensors.Tensor>> models)
    {
        var count = (int)job.ElementCount;
        float[] Load(JobInput input)
        {
            if (!models.TryGetValue(input.Model.Path, out var tensors))
            {
                models[input.Model.Path] = tensors = RawSafetensors.ReadFolder(input.Model.Path);
            }

            var values = tensors[input.Tensor.Name].AsFloats();
            return values.Select(v => FloatCodec.Round(job.ComputeDType, v)).ToArray();
        }

        var buffers = new MergeBuffers(job.Inputs.Count, job.Base is not null, count);
        for (var i = 0; i < job.Inputs.Count; i++)
        {
            Load(job.Inputs[i]).CopyTo(buffers.Inputs[i], 0);
        }

        Load(job.Base!).CopyTo(buffers.Base!, 0);
        method.Merge(job, buffers, new MergeChunk(0, count, MergeOptions.DefaultRandomSeed));
        var bytes = new byte[count * DTypes.SizeOf(job.OutputDType)];
        FloatCodec.FromSingle(job.OutputDType, buffers.Output.AsSpan(0, count), bytes);
        return bytes;
    }
}
