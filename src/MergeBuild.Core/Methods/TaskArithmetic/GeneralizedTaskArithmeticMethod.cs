using MergeBuild.Planning;
using MergeBuild.Recipes;
using MergeBuild.Tensors;

namespace MergeBuild.Methods;

/// <summary>
/// mergekit's generalized task arithmetic (GTA) family: task vectors dᵢ = xᵢ − b, each sparsified with its own
/// density, weighted, optionally sign-elected (TIES), summed, optionally normalised, scaled by lambda and added back
/// to the base. The members differ only in sparsifier, consensus and defaults (see the derived classes).
/// </summary>
/// <remarks>
/// The input buffers are overwritten with the task vectors (they are this call's working memory). Parameters
/// missing from the job fall back to the catalog's defaults, so the method behaves the same whether or not the
/// planner filled them in.
/// </remarks>
public abstract class GeneralizedTaskArithmeticMethod : IMergeMethod
{
    private MergeMethodSpec? spec;

    /// <inheritdoc/>
    public abstract string Name { get; }

    /// <summary>Whether models vote on the sign of each entry (TIES) before their deltas are summed.</summary>
    public abstract bool SignConsensus { get; }

    /// <summary>How task vectors are thinned before mixing.</summary>
    public abstract Sparsification Sparsification { get; }

    /// <summary>Sparsifiers and L1 rescaling look at the whole tensor; plain task arithmetic is element-wise.</summary>
    public bool IsElementwise => Sparsification == Sparsification.None;

    private MergeMethodSpec Spec => spec ??= MergeMethodCatalog.TryGet(Name, out var found)
        ? found
        : throw new InvalidOperationException($"'{Name}' is not in the method catalog.");

    /// <summary>mergekit casts every model to the base model's dtype and computes there.</summary>
    public DType DefaultComputeDType(IReadOnlyList<DType> inputDTypes, DType? baseDType) =>
        baseDType ?? DTypePromotion.Promote(inputDTypes);

    /// <inheritdoc/>
    public void Merge(TensorJob job, MergeBuffers buffers, MergeChunk chunk)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(buffers);
        var count = chunk.Count;
        var dtype = job.ComputeDType;
        var baseValues = (buffers.Base ?? throw new InvalidOperationException($"{Name} needs the base model's tensor."))
            .AsSpan(0, count);
        var output = buffers.Output.AsSpan(0, count);
        var models = job.Inputs.Count;
        if (models == 0)
        {
            baseValues.CopyTo(output);
            return;
        }

        var rescale = Global(job, "rescale") != 0;
        Span<float> weights = stackalloc float[models];
        for (var m = 0; m < models; m++)
        {
            // torch.tensor(weights, dtype=D): weights are rounded to the compute dtype.
            weights[m] = FloatCodec.Round(dtype, (float)PerModel(job, m, "weight"));
            var delta = buffers.Inputs[m].AsSpan(0, count);
            for (var e = 0; e < count; e++)
            {
                delta[e] = FloatCodec.Round(dtype, delta[e] - baseValues[e]);
            }

            Sparsify(job, m, chunk, delta, rescale);
        }

        TaskVectorMixer.Mix(buffers.Inputs, weights, baseValues, output, SignConsensus,
            Global(job, "normalize") != 0, Global(job, "lambda"), dtype);
    }

    private void Sparsify(TensorJob job, int model, MergeChunk chunk, Span<float> delta, bool rescale)
    {
        var dtype = job.ComputeDType;
        var density = PerModel(job, model, "density");
        switch (Sparsification)
        {
            case Sparsification.Magnitude:
                MagnitudeSparsifier.Apply(delta, density, rescale, dtype, job.OutputName);
                break;
            case Sparsification.MagnitudeOutliers:
                OutlierSparsifier.Apply(delta, density, PerModel(job, model, "gamma"), rescale, dtype);
                break;
            case Sparsification.Random:
                BernoulliSparsifier.Apply(delta, density, rescale, dtype,
                    new CounterRandom(chunk.Seed, model, job.OutputName), chunk.Start);
                break;
            case Sparsification.DellaMagprune:
                DellaSparsifier.Apply(delta, job.Shape, density, PerModel(job, model, "epsilon"), rescale, dtype,
                    new CounterRandom(chunk.Seed, model, job.OutputName), chunk.Start, job.OutputName);
                break;
        }
    }

    private double Global(TensorJob job, string name) =>
        job.Parameters.TryGetValue(name, out var value) ? value : Default(name);

    private double PerModel(TensorJob job, int model, string name) =>
        job.Inputs[model].OptionalParameter(name) ?? Default(name);

    private double Default(string name) =>
        Spec.FindParameter(name)?.Default
        ?? throw new InvalidOperationException($"{Name} has no value for the parameter '{name}'.");
}
