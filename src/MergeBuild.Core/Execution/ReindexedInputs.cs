using MergeBuild.Checkpoints;
using MergeBuild.Planning;
using MergeBuild.Tensors;
using MergeBuild.Tokenizers;

namespace MergeBuild.Execution;

/// <summary>
/// The inputs of one embedding-like tensor re-indexed into the output vocabulary, held whole in the compute dtype
/// while that tensor is merged (these matrices are small next to a model; mergekit holds them whole too).
/// </summary>
internal sealed class ReindexedInputs
{
    private readonly Dictionary<PlannedModel, float[]> matrices;

    private ReindexedInputs(Dictionary<PlannedModel, float[]> matrices) => this.matrices = matrices;

    /// <summary>Bytes held while the tensor is merged: the inputs as read and as re-indexed, in float32.</summary>
    public static long BytesFor(TensorJob job)
    {
        var inputs = job.Inputs.Count + (job.Base is null ? 0 : 1);
        var read = job.Inputs.Append(job.Base).OfType<JobInput>().Sum(i => i.Tensor.ElementCount);
        return (read + inputs * job.ElementCount) * sizeof(float);
    }

    public static ReindexedInputs Read(TensorJob job, IReadOnlyDictionary<PlannedModel, CheckpointReader> readers)
    {
        var vocabulary = job.Vocabulary ?? throw new InvalidOperationException($"{job.OutputName} is not re-indexed");
        var models = job.Inputs.Append(job.Base).OfType<JobInput>().OrderBy(i => i.Model.Index).ToList();
        var decoded = models.ToDictionary(i => i.Model, i => Decode(i, job.ComputeDType, readers[i.Model]));
        var reindexed = EmbeddingReindexing.Reindex(vocabulary, models.Select(i => i.Model).ToList(), decoded,
            (int)job.Shape[1], job.ComputeDType);
        return new ReindexedInputs(reindexed);
    }

    /// <summary>Copies elements [start, start + destination.Length) of a model's re-indexed matrix.</summary>
    public void Load(PlannedModel model, long start, Span<float> destination) =>
        matrices[model].AsSpan((int)start, destination.Length).CopyTo(destination);

    /// <summary>A whole input matrix as float32, rounded to the compute dtype (mergekit casts on load).</summary>
    private static float[] Decode(JobInput input, DType computeDType, CheckpointReader reader)
    {
        var tensor = input.Tensor;
        var values = new float[tensor.ElementCount];
        var size = DTypes.SizeOf(tensor.DType);
        const int window = 1 << 20;
        for (long start = 0; start < values.Length; start += window)
        {
            var count = (int)Math.Min(window, values.Length - start);
            FloatCodec.ToSingle(tensor.DType, reader.GetBytes(tensor.Name, start * size, count * size),
                values.AsSpan((int)start, count));
        }

        if (tensor.DType != computeDType)
        {
            Methods.Kernels.Rounding.InPlace(computeDType, values);
        }

        return values;
    }
}
