using MergeBuild.Diagnostics;
using MergeBuild.Lora;
using MergeBuild.Methods;
using MergeBuild.Models;
using MergeBuild.Recipes;
using MergeBuild.Tokenizers;

namespace MergeBuild.Planning;

/// <summary>
/// Turns a parsed recipe into a <see cref="MergePlan"/>, checking it against the models' configs and safetensors
/// headers only: models exist, architectures agree, tensor names and shapes line up, layer ranges are valid and
/// every required parameter is present and in range. Nothing heavy is read, so a typo fails in well under a second
/// (mergekit finds most of these after downloading every model).
/// </summary>
public static class MergePlanner
{
    /// <summary>Plans a single-document recipe (or the final document when it uses no intermediate output).</summary>
    public static MergePlan Plan(RecipeSet recipes, PlanOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(recipes);
        return PlanDocument(recipes, recipes.Final, options, intermediates: null);
    }

    /// <summary>
    /// Plans one document of a (possibly multi-document) recipe. <paramref name="intermediates"/> maps the names of
    /// earlier documents to the folders their outputs were written to; a reference to a name that is not there yet
    /// is an error (the earlier document has to be merged first).
    /// </summary>
    public static MergePlan PlanDocument(RecipeSet recipes, Recipe document, PlanOptions? options,
        IReadOnlyDictionary<string, string>? intermediates)
    {
        ArgumentNullException.ThrowIfNull(recipes);
        ArgumentNullException.ThrowIfNull(document);
        options ??= new PlanOptions();
        var recipe = document;

        if (!MergeMethods.TryGet(recipe.MergeMethod, out var method))
        {
            throw new MergeBuildException(ErrorCodes.UnsupportedMethod,
                $"'{recipe.MergeMethod}' is a mergekit method this version of MergeBuild cannot run yet.",
                recipe.MergeMethodLocation, $"Methods available now: {string.Join(", ", MergeMethods.Names)}.");
        }

        var models = new ModelSet(recipes.FilePath, intermediates, options);
        foreach (var reference in recipe.AllModelReferences())
        {
            models.Resolve(reference);
        }

        CheckArchitectures(models.All, options);

        var baseModel = recipe.BaseModel is null ? null : models.Resolve(recipe.BaseModel);
        var slices = recipe.UsesSlices
            ? NormalizeSlices(recipe, models, baseModel)
            : [NormalizeModels(recipe, models, baseModel)];

        var donor = baseModel ?? models.All[0];
        var warnings = new List<string>();
        var vocabulary = TokenizerPolicy.Of(recipe, models.Resolve, baseModel) is { } policy
            ? VocabularyBuilder.Build(policy, models.All, donor, warnings)
            : null;
        if (vocabulary is null && !options.TruncateEmbeddings)
        {
            VocabularyCheck.RequireSameVocabulary(models.All);
        }

        var chatTemplate = recipe.ChatTemplate is { } template
            ? ChatTemplates.Resolve(template, models.All.Select(m => m.Path), recipe.ChatTemplateLocation ?? recipe.Location)
            : null;
        var context = new PlanningContext(recipe, method, slices) { Vocabulary = vocabulary };
        context.Warnings.AddRange(warnings);
        var jobs = new JobBuilder(context, options).BuildAll();

        return new MergePlan
        {
            RecipeSet = recipes,
            Recipe = recipe,
            Models = models.All,
            Donor = donor,
            Jobs = jobs,
            OutputLayerCount = recipe.UsesSlices ? slices.Sum(s => s.Length) : null,
            ConfigDType = recipe.OutDType ?? recipe.DType,
            Vocabulary = vocabulary,
            ChatTemplate = chatTemplate,
            Warnings = context.Warnings,
        };
    }

    private static void CheckArchitectures(IReadOnlyList<PlannedModel> models, PlanOptions options)
    {
        var first = models[0];
        foreach (var model in models.Skip(1))
        {
            var a = first.Folder.Config.Architecture;
            var b = model.Folder.Config.Architecture;
            if (!string.Equals(a, b, StringComparison.Ordinal) && !options.AllowCrimes)
            {
                throw new MergeBuildException(ErrorCodes.ArchitectureMismatch,
                    $"'{model.Reference.Text}' is a {b ?? "model without architectures"} but '{first.Reference.Text}' " +
                    $"is a {a ?? "model without architectures"}; models of different architectures do not share tensors.",
                    model.Reference.Location,
                    "Merge models fine-tuned from the same base, or pass --allow-crimes if you know their tensors line up.");
            }
        }
    }

    private static NormalizedSlice NormalizeModels(Recipe recipe, ModelSet models, PlannedModel? baseModel)
    {
        var sources = new List<NormalizedSource>();
        foreach (var input in recipe.Models)
        {
            var model = models.Resolve(input.Model);
            if (sources.Any(s => s.Model == model))
            {
                throw new MergeBuildException(ErrorCodes.InvalidValue,
                    $"'{input.Model.Text}' is listed twice under models.", input.Location,
                    "List each model once; use slices: with layer_range to combine layers of one model.");
            }

            sources.Add(new NormalizedSource(model, 0, LayerCount(model), input.Parameters, input.Location));
        }

        if (baseModel is not null && sources.All(s => s.Model != baseModel))
        {
            // mergekit appends an unlisted base model last, with no parameters of its own. Methods without a base
            // then treat it as one more model (karcher averages it in; linear fails on its missing weight).
            sources.Add(new NormalizedSource(baseModel, 0, LayerCount(baseModel), ParameterMap.Empty,
                recipe.BaseModel!.Location));
        }

        var first = sources[0];
        foreach (var source in sources.Skip(1).Where(s => s.Length != first.Length))
        {
            throw new MergeBuildException(ErrorCodes.InvalidLayerRange,
                $"'{source.Model.Reference.Text}' has {source.Length} layers but '{first.Model.Reference.Text}' has " +
                $"{first.Length}; a models: merge combines layer i of every model.",
                source.Location, "Use slices: with layer_range to choose which layers to combine.");
        }

        return new NormalizedSlice(sources, baseModel, ParameterMap.Empty, recipe.Location);
    }

    private static List<NormalizedSlice> NormalizeSlices(Recipe recipe, ModelSet models, PlannedModel? baseModel)
    {
        var result = new List<NormalizedSlice>();
        foreach (var slice in recipe.Slices)
        {
            var sliceBase = slice.BaseModel is null ? baseModel : models.Resolve(slice.BaseModel);
            var sources = new List<NormalizedSource>();
            foreach (var source in slice.Sources)
            {
                var model = models.Resolve(source.Model);
                var layers = LayerCount(model);
                if (source.LayerRange is not { } range)
                {
                    throw new MergeBuildException(ErrorCodes.InvalidLayerRange,
                        $"the slice source '{source.Model.Text}' has no layer_range.", source.Location,
                        $"Add layer_range: [start, end) within the model's {layers} layers, e.g. [0, {layers}].");
                }

                if (range.Start < 0 || range.End > layers || range.Start >= range.End)
                {
                    throw new MergeBuildException(ErrorCodes.InvalidLayerRange,
                        $"layer_range [{range.Start}, {range.End}] does not fit '{source.Model.Text}', which has " +
                        $"{layers} layers (valid ranges lie within [0, {layers}] and are not empty).",
                        range.Location, "layer_range is half-open: [0, 4] takes layers 0, 1, 2 and 3.");
                }

                if (sources.Any(s => s.Model == model))
                {
                    throw new MergeBuildException(ErrorCodes.InvalidValue,
                        $"'{source.Model.Text}' appears twice in one slice; mergekit would silently keep only one of " +
                        "its layer ranges.", source.Location, "Put each layer range in a slice of its own.");
                }

                sources.Add(new NormalizedSource(model, range.Start, range.End, source.Parameters, source.Location));
            }

            foreach (var source in sources.Skip(1).Where(s => s.Length != sources[0].Length))
            {
                throw new MergeBuildException(ErrorCodes.InvalidLayerRange,
                    $"the sources of one slice must span the same number of layers: '{source.Model.Reference.Text}' " +
                    $"spans {source.Length}, '{sources[0].Model.Reference.Text}' spans {sources[0].Length}.",
                    source.Location, "Make every layer_range in the slice the same length.");
            }

            result.Add(new NormalizedSlice(sources, sliceBase, slice.Parameters, slice.Location));
        }

        return result;
    }

    /// <summary>The layer count from config.json, or from the tensor names when the config has none.</summary>
    internal static int LayerCount(PlannedModel model) =>
        model.Folder.Config.NumHiddenLayers ??
        model.Folder.Weights.Tensors.Select(t => TensorName.Parse(t.Name)).Where(n => n.Role == TensorRole.Layer)
            .Select(n => n.Layer + 1).DefaultIfEmpty(0).Max();

    /// <summary>The distinct model folders of a recipe, opened once each, in the order the recipe names them.</summary>
    private sealed class ModelSet(string recipePath, IReadOnlyDictionary<string, string>? intermediates,
        PlanOptions options)
    {
        private readonly string recipeDirectory = Path.GetDirectoryName(Path.GetFullPath(recipePath))!;
        private readonly Dictionary<string, PlannedModel> byPath = new(StringComparer.Ordinal);
        private readonly List<PlannedModel> all = [];

        public IReadOnlyList<PlannedModel> All => all;

        public PlannedModel Resolve(ModelReference reference)
        {
            if (reference.Revision is not null)
            {
                throw new MergeBuildException(ErrorCodes.InvalidValue,
                    $"'{reference.Text}' names a Hub revision; MergeBuild reads local model folders, which have none.",
                    reference.Location, "Download that revision to a folder and reference the folder.");
            }

            var path = Path.GetFullPath(reference.IntermediateName is { } name
                ? intermediates?.GetValueOrDefault(name) ?? throw new MergeBuildException(ErrorCodes.ModelNotFound,
                    $"'{name}' is the output of an earlier document of this recipe, which has not been merged yet.",
                    reference.Location, "Merge the whole recipe with `mergebuild merge`; it builds the documents in order.")
                : reference.ResolvePath(recipeDirectory));
            // A model with an adapter is a different model from the same folder without one.
            var adapter = reference.LoraPath is { } lora
                ? Path.GetFullPath(Path.IsPathRooted(lora) ? lora : Path.Combine(recipeDirectory, lora))
                : null;
            var key = adapter is null ? path : path + "+" + adapter;
            if (byPath.TryGetValue(key, out var known))
            {
                return known;
            }

            var folder = ModelFolder.Open(path, reference.Location, reference.Text);
            if (adapter is not null)
            {
                folder = ModelFolder.Open(LoraMaterializer.Materialize(folder.Path, adapter,
                    options.LoraCacheDirectory ?? LoraMaterializer.DefaultCacheDirectory, reference.Location));
            }

            var model = new PlannedModel(all.Count, reference, folder);
            byPath.Add(key, model);
            all.Add(model);
            return model;
        }
    }
}
