using MergeBuild.Core.Tests.Methods.Reference;
using MergeBuild.Execution;
using MergeBuild.Methods;
using MergeBuild.Planning;
using MergeBuild.Tensors;
using MergeBuild.Tests;

namespace MergeBuild.Core.Tests.Execution;

/// <summary>
/// The streamed geometric and sce/ram/fusion methods end to end on the fixture models: the same bytes for any chunk
/// size, window size and thread count, and the bytes of the whole-tensor implementations they replaced (kept under
/// <c>Methods/Reference</c>), tensor by tensor.
/// </summary>
public class StreamingMergeTests
{
    private static readonly MergeOptions[] Schedules =
    [
        new() { Threads = 1, ChunkElements = 77, WindowElements = 1000, WriteModelCard = false },
        new() { Threads = 2, ChunkElements = 4096, WriteModelCard = false },
        new() { Threads = 8, ChunkElements = 1 << 14, WindowElements = 4096, WriteModelCard = false },
    ];

    private static readonly Dictionary<string, IMergeMethod> References = new()
    {
        ["slerp"] = new ReferenceSlerp(),
        ["nuslerp"] = new ReferenceNuslerp(),
        ["multislerp"] = new ReferenceMultislerp(),
        ["karcher"] = new ReferenceKarcher(),
        ["model_stock"] = new ReferenceModelStock(),
        ["nearswap"] = new ReferenceNearswap(),
        ["sce"] = new ReferenceSce(),
        ["ram"] = new ReferenceRam(),
        ["ramplus_tl"] = new ReferenceRamPlusTensorLocal(),
        ["arcee_fusion"] = new ReferenceArceeFusion(),
    };

    public static TheoryData<string> Recipes() =>
    [
        Recipe("slerp", "parameters: {t: 0.5}", "shipping", "shipping", "refunds"),
        Recipe("slerp", "parameters: {t: 0.3}\ndtype: float32", "base", "base", "catalog"),
        Recipe("nuslerp", "dtype: float32", "base", "shipping:1", "refunds:3"),
        Recipe("nuslerp", "parameters: {nuslerp_flatten: false}", null, "shipping:2", "catalog:1"),
        Recipe("nuslerp", "parameters: {nuslerp_flatten: false, nuslerp_row_wise: true}", "base", "refunds:1", "catalog:1"),
        Recipe("multislerp", "dtype: float32", "base", "shipping:1", "refunds:1", "catalog:2"),
        Recipe("multislerp", "parameters: {normalize_weights: false}", null, "shipping:0.5", "refunds:0.7"),
        Recipe("karcher", "dtype: float32", "base", "shipping", "refunds", "catalog"),
        Recipe("karcher", "parameters: {max_iter: 3}", null, "shipping", "refunds"),
        Recipe("model_stock", "dtype: float32", "base", "shipping", "refunds", "catalog"),
        Recipe("model_stock", "parameters: {filter_wise: true}", "base", "shipping", "refunds", "catalog"),
        Recipe("nearswap", "parameters: {t: 0.001}", "base", "shipping"),
        Recipe("sce", "parameters: {select_topk: 0.3}\ndtype: float32", "base", "shipping", "refunds", "catalog"),
        Recipe("sce", "parameters: {select_topk: 0.5}", "base", "shipping", "refunds", "catalog"),
        Recipe("sce", "", "base", "shipping", "refunds"),
        Recipe("ram", "", "base", "shipping", "refunds", "catalog"),
        Recipe("ramplus_tl", "parameters: {r: 0.5, alpha: 0.3}\ndtype: float32", "base", "shipping", "refunds", "catalog"),
        Recipe("arcee_fusion", "", "base", "refunds"),
        Recipe("arcee_fusion", "dtype: float32", "base", "shipping"),
    ];

    [Theory]
    [MemberData(nameof(Recipes))]
    public void Every_schedule_writes_the_bytes_of_the_whole_tensor_reference(string yaml)
    {
        using var temp = new TempFolder();
        var plan = MergeRunner.Plan(temp, yaml);
        var outputs = Schedules
            .Select((options, k) => RawSafetensors.ReadFolder(MergeRunner.Merge(temp, yaml, options, $"out{k}")))
            .ToArray();
        var reference = References[plan.Recipe.MergeMethod];
        var models = new Dictionary<string, Dictionary<string, RawSafetensors.Tensor>>();
        foreach (var job in plan.Jobs)
        {
            var expected = Reference(reference, job, models);
            foreach (var output in outputs)
            {
                Assert.True(expected.AsSpan().SequenceEqual(output[job.OutputName].Data),
                    $"{plan.Recipe.MergeMethod}: {job.OutputName} differs from the whole-tensor reference");
            }
        }
    }

    /// <summary>A recipe over fixture models; "name:w" gives the model a weight.</summary>
    private static string Recipe(string method, string extra, string? baseModel, params string[] models)
    {
        var list = string.Join("\n", models.Select(m => m.Split(':') is [var name, var weight]
            ? $"  - model: {{models}}/{name}\n    parameters: {{weight: {weight}}}"
            : $"  - model: {{models}}/{m}"));
        var baseLine = baseModel is null ? "" : $"base_model: {{models}}/{baseModel}\n";
        return $"merge_method: {method}\n{baseLine}{extra}\nmodels:\n{list}\n";
    }

    /// <summary>The reference method over the whole tensor, inputs rounded to the compute dtype as the executor loads them.</summary>
    private static byte[] Reference(IMergeMethod method, TensorJob job,
        Dictionary<string, Dictionary<string, RawSafetensors.Tensor>> models)
    {
        var count = (int)job.ElementCount;
        var buffers = new MergeBuffers(job.Inputs.Count, job.Base is not null, count);
        void Load(JobInput input, float[] destination)
        {
            if (!models.TryGetValue(input.Model.Path, out var tensors))
            {
                models[input.Model.Path] = tensors = RawSafetensors.ReadFolder(input.Model.Path);
            }

            var values = tensors[input.Tensor.Name].AsFloats();
            for (var e = 0; e < count; e++)
            {
                destination[e] = FloatCodec.Round(job.ComputeDType, values[e]);
            }
        }

        for (var i = 0; i < job.Inputs.Count; i++)
        {
            Load(job.Inputs[i], buffers.Inputs[i]);
        }

        if (job.Base is { } b)
        {
            Load(b, buffers.Base!);
        }

        method.Merge(job, buffers, new MergeChunk(0, count, MergeOptions.DefaultRandomSeed));
        var bytes = new byte[count * DTypes.SizeOf(job.OutputDType)];
        FloatCodec.FromSingle(job.OutputDType, buffers.Output.AsSpan(0, count), bytes);
        return bytes;
    }
}
