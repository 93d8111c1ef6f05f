using MergeBuild.Checkpoints;
using MergeBuild.Diagnostics;
using MergeBuild.Methods;
using MergeBuild.Recipes;
using MergeBuild.Tensors;
using MergeBuild.Tokenizers;

namespace MergeBuild.Planning;

/// <summary>
/// Builds one <see cref="TensorJob"/> per output tensor, following mergekit's plan: pre-layer tensors from the first
/// slice's sources at t = 0, each slice's layers renumbered consecutively at t = idx/(n−1), post-layer tensors from
/// the last slice's sources at t = 0.
/// </summary>
internal sealed class JobBuilder(PlanningContext context, PlanOptions options)
{
    private const string LmHead = "lm_head.weight";
    private const string TiedEmbedding = "model.embed_tokens.weight";

    private readonly Dictionary<PlannedModel, ModelTensors> tables = [];

    public List<TensorJob> BuildAll()
    {
        foreach (var slice in context.Slices)
        {
            CheckModelCount(slice);
        }

        var jobs = new List<TensorJob>();
        var first = context.Slices[0];
        var last = context.Slices[^1];

        foreach (var name in Union(first, t => t.Pre))
        {
            jobs.Add(Build(name, TensorRole.PreLayer, -1, first, _ => name, t: 0));
        }

        var outputLayer = 0;
        foreach (var slice in context.Slices)
        {
            for (var index = 0; index < slice.Length; index++)
            {
                var position = ParameterEvaluation.LayerPosition(index, slice.Length);
                var sliceIndex = index;
                var templates = slice.Sources
                    .SelectMany(s => Table(s.Model).Layer(s.LayerStart + sliceIndex))
                    .Select(n => n.Template)
                    .Distinct(StringComparer.Ordinal)
                    .Select(template => (Template: template, Output: Format(template, outputLayer)))
                    .OrderBy(x => x.Output, StringComparer.Ordinal);
                foreach (var (template, output) in templates)
                {
                    jobs.Add(Build(output, TensorRole.Layer, outputLayer, slice,
                        s => Format(template, s.LayerStart + sliceIndex), position));
                }

                outputLayer++;
            }
        }

        foreach (var name in Union(last, t => t.Post))
        {
            jobs.Add(Build(name, TensorRole.PostLayer, -1, last, _ => name, t: 0));
        }

        return jobs;
    }

    private static string Format(string template, int layer) =>
        string.Format(System.Globalization.CultureInfo.InvariantCulture, template, layer);

    private ModelTensors Table(PlannedModel model)
    {
        if (!tables.TryGetValue(model, out var table))
        {
            tables[model] = table = new ModelTensors(model.Folder.Weights);
        }

        return table;
    }

    private List<string> Union(NormalizedSlice slice, Func<ModelTensors, List<TensorName>> select) =>
        slice.Sources.SelectMany(s => select(Table(s.Model))).Select(n => n.Name)
            .Distinct(StringComparer.Ordinal).OrderBy(n => n, StringComparer.Ordinal).ToList();

    private void CheckModelCount(NormalizedSlice slice)
    {
        var spec = context.Spec;
        if (spec.BaseModel == BaseModelUse.Required && slice.Base is null)
        {
            throw new MergeBuildException(ErrorCodes.MissingBaseModel,
                $"{spec.Name} computes task vectors against a base model, and the recipe names none.",
                context.Recipe.MergeMethodLocation, "Add base_model: with the model the others were fine-tuned from.");
        }

        var inputs = slice.Sources.Count(s => !IsBase(s, slice));
        if (inputs < spec.MinModels || (spec.MaxModels is { } max && inputs > max))
        {
            var expected = spec.MaxModels == spec.MinModels ? $"exactly {spec.MinModels}"
                : spec.MaxModels is null ? $"at least {spec.MinModels}" : $"{spec.MinModels} to {spec.MaxModels}";
            throw new MergeBuildException(ErrorCodes.WrongModelCount,
                $"{spec.Name} takes {expected} model(s) besides the base per tensor, but this " +
                $"{(context.Recipe.UsesSlices ? "slice" : "recipe")} gives it {inputs}.",
                slice.Location,
                spec.Name == "passthrough" ? "Use slices: with one source per slice to stack layers of several models."
                    : "Adjust the models listed.");
        }
    }

    private bool IsBase(NormalizedSource source, NormalizedSlice slice) =>
        context.UsesBase && source.Model == slice.Base;

    private TensorJob Build(string outputName, TensorRole role, int outputLayer, NormalizedSlice slice,
        Func<NormalizedSource, string> inputName, double t)
    {
        var inputs = new List<JobInput>();
        JobInput? baseInput = null;
        foreach (var source in slice.Sources)
        {
            var isBase = IsBase(source, slice);
            var tensor = Lookup(source, inputName(source), outputName, slice);
            var parameters = ResolvePerModel(source, slice, tensor.Name, t, isBase);
            var input = new JobInput(source.Model, tensor, parameters, source.Location);
            if (isBase)
            {
                baseInput = input;
            }
            else
            {
                inputs.Add(input);
            }
        }

        if (context.Spec.BaseModel == BaseModelUse.Required && baseInput is null)
        {
            throw new MergeBuildException(ErrorCodes.MissingBaseModel,
                $"base_model '{slice.Base?.Reference.Text}' is not among this slice's sources.", slice.Location,
                "List the base model as a source of every slice, with the same layer_range as the others.");
        }

        var reindexed = context.Vocabulary is not null && TensorName.Parse(outputName).IsEmbedding;
        var shape = reindexed
            ? EmbeddingReindexing.Shape(context.Vocabulary!, inputs, baseInput, outputName)
            : CheckShapes(inputs, baseInput, outputName, options.TruncateEmbeddings ? context.Spec.Name : null);
        var (compute, output) = ChooseDTypes(inputs, baseInput, outputName);

        return new TensorJob
        {
            OutputName = outputName,
            Role = role,
            OutputLayer = outputLayer,
            Shape = shape,
            ComputeDType = compute,
            OutputDType = output,
            Inputs = inputs,
            Base = baseInput,
            Parameters = ResolveGlobal(slice, outputName, t),
            T = t,
            Vocabulary = reindexed ? context.Vocabulary : null,
        };
    }

    private TensorInfo Lookup(NormalizedSource source, string name, string outputName, NormalizedSlice slice)
    {
        var files = Table(source.Model).Files;
        if (files.Find(name) is { } found)
        {
            return found;
        }

        // A model with tied embeddings has no lm_head; like mergekit, it contributes its embedding matrix instead.
        if (name == LmHead && files.Find(TiedEmbedding) is { } tied)
        {
            return tied;
        }

        var others = slice.Sources.Where(s => s != source).Select(s => s.Model.Reference.Text).ToList();
        throw new MergeBuildException(ErrorCodes.TensorMissingInModel,
            $"'{source.Model.Reference.Text}' has no tensor '{name}' (needed for '{outputName}'" +
            (others.Count > 0 ? $"; {string.Join(", ", others.Select(o => $"'{o}'"))} in the same slice ha" +
                                (others.Count == 1 ? "s" : "ve") + " it" : "") + ").",
            source.Location, "Merge models of one architecture and size, or choose layer ranges every source has.");
    }

    private long[] CheckShapes(List<JobInput> inputs, JobInput? baseInput, string outputName, string? truncatingMethod)
    {
        var all = baseInput is null ? inputs : [baseInput, .. inputs];
        var reference = all[0];
        if (all.All(i => i.Tensor.Shape.SequenceEqual(reference.Tensor.Shape)))
        {
            return reference.Tensor.Shape;
        }

        var isEmbedding = TensorName.Parse(outputName).IsEmbedding;
        if (isEmbedding && truncatingMethod is not null &&
            EmbeddingTruncation.TryShape(truncatingMethod, inputs, baseInput, out var truncated))
        {
            context.Warnings.Add($"{outputName}: vocabularies differ; rows cut to {truncated[0]} (--truncate-embeddings).");
            return truncated;
        }

        var other = all.First(i => !i.Tensor.Shape.SequenceEqual(reference.Tensor.Shape));
        var shapeA = reference.Tensor.ShapeText;
        var shapeB = other.Tensor.ShapeText;
        if (isEmbedding)
        {
            throw new MergeBuildException(ErrorCodes.VocabularyMismatch,
                $"'{other.Model.Reference.Text}' has {outputName} of shape {shapeB} but " +
                $"'{reference.Model.Reference.Text}' has {shapeA}: their vocabularies differ, so rows with the same " +
                "index are different tokens.", other.Location,
                "Merge models that share a tokenizer, or pass --truncate-embeddings to cut the rows to a common size " +
                "as mergekit does silently (rows past the shorter vocabulary are then lost).");
        }

        throw new MergeBuildException(ErrorCodes.ShapeMismatch,
            $"'{other.Model.Reference.Text}' has {other.Tensor.Name} of shape {shapeB} but " +
            $"'{reference.Model.Reference.Text}' has {reference.Tensor.Name} of shape {shapeA}.", other.Location,
            "Only models of the same size can be merged tensor by tensor.");
    }

    private (DType Compute, DType Output) ChooseDTypes(List<JobInput> inputs, JobInput? baseInput, string outputName)
    {
        var recipe = context.Recipe;
        var stored = inputs.Select(i => i.Tensor.DType).ToList();
        var isCopy = context.Method is PassthroughMethod;
        var nonFloat = stored.Append(baseInput?.Tensor.DType ?? DType.F32).FirstOrDefault(d => !DTypes.IsFloatingPoint(d));
        if (!DTypes.IsFloatingPoint(nonFloat))
        {
            if (isCopy)
            {
                // Integer buffers are copied as they are; casting them would change their meaning.
                return (nonFloat, nonFloat);
            }

            throw new MergeBuildException(ErrorCodes.UnsupportedDType,
                $"'{outputName}' is stored as {DTypes.ToSafetensorsName(nonFloat)}; {recipe.MergeMethod} combines " +
                "floating-point tensors only.", recipe.MergeMethodLocation,
                "Integer buffers can only be carried over with passthrough.");
        }

        var compute = recipe.DType ?? context.Method.DefaultComputeDType(stored, baseInput?.Tensor.DType);
        if (!DTypes.IsFloatingPoint(compute))
        {
            throw new MergeBuildException(ErrorCodes.UnsupportedDType,
                $"dtype {DTypes.ToTorchName(compute)} cannot hold merged weights.",
                recipe.DTypeLocation ?? recipe.Location, "Use dtype: bfloat16, float16 or float32.");
        }

        var output = recipe.OutDType ?? context.Method.DefaultOutputDType(compute);
        if (!DTypes.IsFloatingPoint(output))
        {
            throw new MergeBuildException(ErrorCodes.UnsupportedDType,
                $"out_dtype {DTypes.ToTorchName(output)} cannot hold merged weights.",
                recipe.OutDTypeLocation ?? recipe.Location, "Use out_dtype: bfloat16, float16 or float32.");
        }

        return (compute, output);
    }

    private Dictionary<string, double> ResolvePerModel(NormalizedSource source, NormalizedSlice slice,
        string inputName, double t, bool isBase)
    {
        var values = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var spec in context.Spec.Parameters.Where(p => p.Scope == ParameterScope.PerModel))
        {
            var value = ParameterResolver.ResolvePerModel(spec.Name, source.Parameters, slice.Parameters,
                            context.Recipe.Parameters, inputName, t) ?? spec.Default;
            if (value is null)
            {
                if (spec.Required && !isBase)
                {
                    throw new MergeBuildException(ErrorCodes.MissingParameter,
                        $"{context.Spec.Name} needs a '{spec.Name}' for '{source.Model.Reference.Text}' " +
                        $"(tensor {inputName}).", source.Location,
                        $"Add parameters: {{{spec.Name}: ...}} to this model, or a top-level default under parameters.");
                }

                continue;
            }

            CheckRange(spec, value.Value, source.Location, inputName);
            values[spec.Name] = value.Value;
        }

        return values;
    }

    private Dictionary<string, double> ResolveGlobal(NormalizedSlice slice, string outputName, double t)
    {
        var values = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var spec in context.Spec.Parameters.Where(p => p.Scope == ParameterScope.Global))
        {
            var value = ParameterResolver.ResolveGlobal(spec.Name, slice.Parameters, context.Recipe.Parameters,
                outputName, t) ?? spec.Default;
            if (value is null)
            {
                if (spec.Required)
                {
                    throw new MergeBuildException(ErrorCodes.MissingParameter,
                        $"{context.Spec.Name} needs the parameter '{spec.Name}' (no value applies to tensor {outputName}).",
                        context.Recipe.MergeMethodLocation,
                        $"Add it under the top-level parameters, e.g. parameters: {{{spec.Name}: ...}}.");
                }

                continue;
            }

            CheckRange(spec, value.Value, slice.Location, outputName);
            values[spec.Name] = value.Value;
        }

        return values;
    }

    private static void CheckRange(ParameterSpec spec, double value, SourceLocation location, string tensor)
    {
        if (double.IsNaN(value) || (spec.Min is { } min && value < min) || (spec.Max is { } max && value > max))
        {
            var range = (spec.Min, spec.Max) switch
            {
                ({ } lo, { } hi) => $"between {lo} and {hi}",
                ({ } lo, null) => $"at least {lo}",
                (null, { } hi) => $"at most {hi}",
                _ => "a number",
            };
            throw new MergeBuildException(ErrorCodes.ParameterOutOfRange,
                $"'{spec.Name}' evaluates to {value} for tensor {tensor}; it must be {range}.", location,
                "Check the value, gradient or filter list that applies to this tensor.");
        }
    }
}
