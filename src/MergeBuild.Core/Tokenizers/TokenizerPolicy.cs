using MergeBuild.Diagnostics;
using MergeBuild.Planning;
using MergeBuild.Recipes;

namespace MergeBuild.Tokenizers;

/// <summary>
/// The recipe's tokenizer settings with model references resolved: <c>tokenizer_source</c> or the <c>tokenizer:</c>
/// block (they are exclusive; the parser enforces it).
/// </summary>
internal sealed record TokenizerPolicy(
    string SourceText,
    PlannedModel? SourceModel,
    IReadOnlyDictionary<string, TokenSettings> Tokens,
    Func<ModelReference, PlannedModel> Resolve,
    int? PadToMultipleOf,
    PlannedModel? BaseModel,
    SourceLocation Location)
{
    public bool IsUnion => SourceModel is null && SourceText == "union";

    /// <summary>The policy a recipe asks for, or null when it has no tokenizer setting.</summary>
    public static TokenizerPolicy? Of(Recipe recipe, Func<ModelReference, PlannedModel> resolve, PlannedModel? baseModel)
    {
        if (recipe.Tokenizer is { } block)
        {
            return new TokenizerPolicy(block.Source, block.SourceModel is null ? null : resolve(block.SourceModel),
                block.Tokens, resolve, block.PadToMultipleOf, baseModel, block.Location);
        }

        if (recipe.TokenizerSource is { } source)
        {
            var location = recipe.TokenizerSourceLocation ?? recipe.Location;
            return new TokenizerPolicy(source,
                recipe.TokenizerSourceModel is null ? null : resolve(recipe.TokenizerSourceModel),
                new Dictionary<string, TokenSettings>(StringComparer.Ordinal), resolve, null, baseModel, location);
        }

        return null;
    }
}
