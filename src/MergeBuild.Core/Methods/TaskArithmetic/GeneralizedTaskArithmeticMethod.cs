using MergeBuild.Diagnostics;
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

    /// <summary>
    /// Sparsifiers and L1 rescaling look at the whole tensor; plain task arithmetic is element-wise. (<see cref="Begin"/>
    /// streams every member; this tells <see cref="Merge"/>'s callers whether a chunk may be merged on its own.)
    /// </summary>
    public bool IsElementwise => Sparsification == Sparsification.None;

    /// <summary>
    /// DARE (with rescale) and DELLA keep their whole keep masks as bits between the passes for tensors up to this many
    /// entries (tests lower it to exercise the paths that draw and rank again).
    /// </summary>
    internal long MaskCacheElements { get; init; } = DellaStream.MaskCacheElements;

    private MergeMethodSpec Spec => spec ??= MergeMethodCatalog.TryGet(Name, out var found)
        ? found
        : throw new InvalidOperationException($"'{Name}' is not in the method catalog.");

    /// <summary>mergekit casts every model to the base model's dtype and computes there.</summary>
    public DType DefaultComputeDType(IReadOnlyList<DType> inputDTypes, DType? baseDType) =>
        baseDType ?? DTypePromotion.Promote(inputDTypes);

    /// <summary>
    /// Streams the tensor (<see cref="GtaStream"/>): statistics passes only where a sparsifier needs a per-tensor
    /// statistic, state bounded by histograms and rows (not the tensor), vectorized kernels; bit-identical to
    /// <see cref="Merge"/> on the whole tensor.
    /// </summary>
    public ITensorMerge Begin(TensorJob job)
    {
        ArgumentNullException.ThrowIfNull(job);
        var models = job.Inputs.Count;
        var dtype = job.ComputeDType;
        var rescale = Global(job, "rescale") != 0;
        var weights = new float[models];
        var sparsifiers = new IStreamSparsifier?[models];
        MergeBuildException? failure = null;
        for (var m = 0; m < models; m++)
        {
            // torch.tensor(weights, dtype=D): weights are rounded to the compute dtype.
            weights[m] = FloatCodec.Round(dtype, (float)PerModel(job, m, "weight"));
            try
            {
                sparsifiers[m] = StreamSparsifier(job, m, rescale);
            }
            catch (MergeBuildException e)
            {
                failure ??= e;
            }
        }

        return new GtaStream(Name, job, sparsifiers, weights, SignConsensus, Global(job, "normalize") != 0,
            Global(job, "lambda"), failure);
    }

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

    /// <summary>The model's sparsifier in streamed form; null where it leaves the task vector untouched.</summary>
    private IStreamSparsifier? StreamSparsifier(TensorJob job, int model, bool rescale)
    {
        var dtype = job.ComputeDType;
        var density = PerModel(job, model, "density");
        var count = job.ElementCount;
        if (Sparsification == Sparsification.None || density >= 1)
        {
            return null;
        }

        switch (Sparsification)
        {
            case Sparsification.Magnitude:
                return new MagnitudeStream(dtype,
                    new TopKSelection(MagnitudeSparsifier.Keep(density, count, job.OutputName), count), null, rescale, count);
            case Sparsification.MagnitudeOutliers:
                var (keep, outliers) = OutlierSparsifier.Ranks(density, PerModel(job, model, "gamma"), count);
                return new MagnitudeStream(dtype, new TopKSelection(keep, count), new TopKSelection(outliers, count),
                    rescale, count);
            case Sparsification.Random:
                return new BernoulliStream(dtype, FloatCodec.Round(WorkDType.ForRandom(dtype), (float)density), rescale,
                    model, job.OutputName, count, MaskCacheElements);
            default:
                if (density <= 0)
                {
                    return new ZeroStream();
                }

                var epsilon = PerModel(job, model, "epsilon");
                DellaSparsifier.CheckRamp(density, epsilon, job.OutputName);
                var (_, length, _) = DellaStream.Geometry(job.Shape);
                return length == 1
                    ? new BernoulliStream(dtype, FloatCodec.Round(WorkDType.ForRandom(dtype), (float)density), rescale,
                        model, job.OutputName, count, MaskCacheElements)
                    : new DellaStream(dtype, job.Shape, density, epsilon, rescale, model, job.OutputName,
                        MaskCacheElements);
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
