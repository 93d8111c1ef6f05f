using MergeBuild.Diagnostics;
using MergeBuild.Tensors;
using YamlDotNet.RepresentationModel;

namespace MergeBuild.Recipes;

/// <summary>
/// One parsed recipe document (a mergekit <c>MergeConfiguration</c>), with the position of everything it says.
/// Exactly one of <see cref="Models"/> and <see cref="Slices"/> is non-empty. Built by <see cref="RecipeParser"/>.
/// </summary>
public sealed class Recipe
{
    internal Recipe(string mergeMethod, SourceLocation mergeMethodLocation, MergeMethodSpec method, SourceLocation location)
    {
        MergeMethod = mergeMethod;
        MergeMethodLocation = mergeMethodLocation;
        Method = method;
        Location = location;
    }

    /// <summary>The document's <c>name</c> (multi-document recipes), or null.</summary>
    public string? Name { get; internal init; }

    /// <summary>Where the <c>name</c> value was written, or null.</summary>
    public SourceLocation? NameLocation { get; internal init; }

    /// <summary>Where the document starts.</summary>
    public SourceLocation Location { get; }

    /// <summary>The <c>merge_method</c> as written.</summary>
    public string MergeMethod { get; }

    public SourceLocation MergeMethodLocation { get; }

    /// <summary>The method's description from <see cref="MergeMethodCatalog"/>.</summary>
    public MergeMethodSpec Method { get; }

    public ModelReference? BaseModel { get; internal init; }

    /// <summary>The <c>models:</c> entries; empty when slices are used.</summary>
    public IReadOnlyList<InputModel> Models { get; internal init; } = [];

    /// <summary>The <c>slices:</c> entries; empty when models are used.</summary>
    public IReadOnlyList<OutputSlice> Slices { get; internal init; } = [];

    public bool UsesSlices => Slices.Count > 0;

    /// <summary>The top-level <c>parameters</c> (lowest precedence before the method defaults).</summary>
    public ParameterMap Parameters { get; internal init; } = ParameterMap.Empty;

    public DType? DType { get; internal init; }

    public SourceLocation? DTypeLocation { get; internal init; }

    public DType? OutDType { get; internal init; }

    public SourceLocation? OutDTypeLocation { get; internal init; }

    /// <summary>Legacy <c>tokenizer_source</c>: <c>union</c>, <c>base</c> or a model reference's text; null when absent.</summary>
    public string? TokenizerSource { get; internal init; }

    /// <summary>The model when <see cref="TokenizerSource"/> is a model reference.</summary>
    public ModelReference? TokenizerSourceModel { get; internal init; }

    public SourceLocation? TokenizerSourceLocation { get; internal init; }

    /// <summary>The <c>tokenizer:</c> block, or null.</summary>
    public TokenizerConfig? Tokenizer { get; internal init; }

    /// <summary><c>chat_template</c>: <c>auto</c>, a built-in template name or literal Jinja; null when absent.</summary>
    public string? ChatTemplate { get; internal init; }

    public SourceLocation? ChatTemplateLocation { get; internal init; }

    /// <summary>
    /// MergeBuild's own top-level sections (<c>gates</c>, <c>cache</c>) as raw YAML, keyed by section name. They are
    /// accepted but not interpreted yet; the features that own them read them from here.
    /// </summary>
    public IReadOnlyDictionary<string, YamlNode> Extensions { get; internal init; } = new Dictionary<string, YamlNode>();

    /// <summary>
    /// Every model reference, in recipe order: the models (or, slice by slice, each slice's sources and then its
    /// base_model), then the top-level base_model, then tokenizer sources. For validation; may repeat a model.
    /// </summary>
    public IEnumerable<ModelReference> AllModelReferences()
    {
        foreach (var model in Models)
        {
            yield return model.Model;
        }

        foreach (var slice in Slices)
        {
            foreach (var source in slice.Sources)
            {
                yield return source.Model;
            }

            if (slice.BaseModel is not null)
            {
                yield return slice.BaseModel;
            }
        }

        if (BaseModel is not null)
        {
            yield return BaseModel;
        }

        if (TokenizerSourceModel is not null)
        {
            yield return TokenizerSourceModel;
        }

        if (Tokenizer is not null)
        {
            if (Tokenizer.SourceModel is not null)
            {
                yield return Tokenizer.SourceModel;
            }

            foreach (var settings in Tokenizer.Tokens.Values)
            {
                switch (settings.Source)
                {
                    case ModelEmbeddingTokenSource embedding:
                        yield return embedding.Model;
                        break;
                    case ModelTokenSource token:
                        yield return token.Model;
                        break;
                }
            }
        }
    }
}
