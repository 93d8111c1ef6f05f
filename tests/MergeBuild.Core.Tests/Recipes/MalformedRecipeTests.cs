using MergeBuild.Diagnostics;
using MergeBuild.Recipes;

namespace MergeBuild.Core.Tests.Recipes;

/// <summary>
/// One defect per recipe; each must fail with the exact code at the exact 1-based line and column (counted by hand
/// in the YAML below), and name the fix where a close spelling exists.
/// </summary>
public class MalformedRecipeTests
{
    private const string File = "bad.yml";

    /// <summary>case, yaml, code, line, column, expected did-you-mean (null: none asserted).</summary>
    public static TheoryData<string, string, string, int, int, string?> Corpus => new()
    {
        {
            "misspelt top-level key", """
            merge_methd: linear
            models:
              - model: a
                parameters: {weight: 1}
            """, ErrorCodes.UnknownKey, 1, 1, "merge_method"
        },
        {
            "unknown method", """
            merge_method: dare-ties
            base_model: b
            models:
              - model: a
                parameters: {weight: 1}
            """, ErrorCodes.UnknownMethod, 1, 15, "dare_ties"
        },
        {
            "unknown top-level parameter", """
            merge_method: ties
            base_model: base
            models:
              - model: a
                parameters:
                  weight: 1
            parameters:
              densty: 0.5
            """, ErrorCodes.UnknownParameter, 8, 3, "density"
        },
        {
            "unknown model parameter", """
            merge_method: linear
            models:
              - model: a
                parameters:
                  wieght: 1
            """, ErrorCodes.UnknownParameter, 5, 7, "weight"
        },
        {
            "unknown slice parameter", """
            merge_method: slerp
            base_model: a
            slices:
              - sources:
                  - model: a
                    layer_range: [0, 2]
                  - model: b
                    layer_range: [0, 2]
                parameters:
                  tt: 0.5
            """, ErrorCodes.UnknownParameter, 10, 7, "t"
        },
        {
            "global parameter in a model's own parameters", """
            merge_method: slerp
            base_model: base
            models:
              - model: a
                parameters:
                  t: 0.5
            """, ErrorCodes.UnknownParameter, 6, 7, null
        },
        {
            "misspelt key in a models entry", """
            merge_method: linear
            models:
              - modle: a
                parameters: {weight: 1}
            """, ErrorCodes.UnknownKey, 3, 5, "model"
        },
        {
            "misspelt key in a slice source", """
            merge_method: passthrough
            slices:
              - sources:
                  - model: a
                    layer_rang: [0, 2]
            """, ErrorCodes.UnknownKey, 5, 9, "layer_range"
        },
        {
            "models and slices together", """
            merge_method: passthrough
            models:
              - model: a
            slices:
              - sources:
                  - model: a
                    layer_range: [0, 2]
            """, ErrorCodes.ConflictingKeys, 4, 1, null
        },
        {
            "neither models nor slices", """
            merge_method: linear
            base_model: a
            """, ErrorCodes.MissingKey, 1, 1, null
        },
        {
            "no merge_method", """
            models:
              - model: a
            """, ErrorCodes.MissingKey, 1, 1, null
        },
        {
            "modules are not supported", """
            merge_method: linear
            modules:
              text_decoder:
                models: []
            """, ErrorCodes.InvalidValue, 2, 1, null
        },
        {
            "density above one", """
            merge_method: ties
            base_model: base
            models:
              - model: a
                parameters:
                  weight: 0.5
                  density: 1.5
            """, ErrorCodes.ParameterOutOfRange, 7, 16, null
        },
        {
            "negative t inside a gradient", """
            merge_method: slerp
            base_model: base
            models:
              - model: a
            parameters:
              t: [0, 0.5, -0.2]
            """, ErrorCodes.ParameterOutOfRange, 6, 15, null
        },
        {
            "t above one inside a conditional entry", """
            merge_method: slerp
            base_model: base
            models:
              - model: a
            parameters:
              t:
                - filter: self_attn
                  value: 1.2
                - value: 0.5
            """, ErrorCodes.ParameterOutOfRange, 8, 14, null
        },
        {
            "text weight", """
            merge_method: linear
            models:
              - model: a
                parameters:
                  weight: abc
            """, ErrorCodes.InvalidValue, 5, 15, null
        },
        {
            "layer_range with one number", """
            merge_method: passthrough
            slices:
              - sources:
                  - model: a
                    layer_range: [0]
            """, ErrorCodes.InvalidValue, 5, 22, null
        },
        {
            "layer_range ending before it starts", """
            merge_method: passthrough
            slices:
              - sources:
                  - model: a
                    layer_range: [4, 2]
            """, ErrorCodes.InvalidValue, 5, 22, null
        },
        {
            "bare filter mapping", """
            merge_method: slerp
            base_model: base
            models:
              - model: a
            parameters:
              t:
                filter: mlp
                value: 0.5
            """, ErrorCodes.InvalidValue, 7, 5, null
        },
        {
            "dtype mergekit refuses", """
            merge_method: linear
            dtype: float64
            models:
              - model: a
                parameters: {weight: 1}
            """, ErrorCodes.InvalidValue, 2, 8, null
        },
        {
            "two revisions", """
            merge_method: linear
            models:
              - model: a@b@c
                parameters: {weight: 1}
            """, ErrorCodes.InvalidValue, 3, 12, null
        },
        {
            "bad indentation", """
            merge_method: linear
              models: x
            """, ErrorCodes.RecipeSyntax, 2, 9, null
        },
        {
            "duplicate key", """
            merge_method: linear
            merge_method: ties
            """, ErrorCodes.RecipeSyntax, 2, 1, null
        },
        {
            // YamlDotNet throws a bare InvalidOperationException here; it must still come out as MB2002, at the
            // '[' that is never closed.
            "unclosed flow list", """
            merge_method: linear
            models: [a, b
            parameters: x
            """, ErrorCodes.RecipeSyntax, 2, 9, null
        },
        {
            "misspelt tokenizer key", """
            merge_method: linear
            models:
              - model: a
                parameters: {weight: 1}
            tokenizer:
              sorce: base
            """, ErrorCodes.UnknownKey, 6, 3, "source"
        },
        {
            "tokenizer_source and tokenizer", """
            merge_method: linear
            models:
              - model: a
                parameters: {weight: 1}
            tokenizer_source: base
            tokenizer: {source: union}
            """, ErrorCodes.ConflictingKeys, 5, 1, null
        },
        {
            "parameter for a method without parameters", """
            merge_method: arcee_fusion
            base_model: b
            models:
              - model: a
            parameters:
              weight: 1
            """, ErrorCodes.UnknownParameter, 6, 3, null
        },
        {
            "fractional integer parameter", """
            merge_method: karcher
            models:
              - model: a
              - model: b
            parameters:
              max_iter: 2.5
            """, ErrorCodes.InvalidValue, 6, 13, null
        },
        {
            "models entry as a bare string", """
            merge_method: linear
            models:
              - a
            """, ErrorCodes.InvalidValue, 3, 5, null
        },
        {
            "unknown token source kind", """
            merge_method: linear
            models:
              - model: a
                parameters: {weight: 1}
            tokenizer:
              tokens:
                <pad>:
                  source: {kind: zeros}
            """, ErrorCodes.InvalidValue, 8, 22, "zero"
        },
        {
            "duplicate document names", """
            name: stage
            merge_method: passthrough
            models:
              - model: a
            ---
            name: stage
            merge_method: passthrough
            models:
              - model: stage
            """, ErrorCodes.InvalidValue, 6, 7, null
        },
        {
            "unnamed intermediate document", """
            merge_method: passthrough
            models:
              - model: a
            ---
            merge_method: passthrough
            models:
              - model: b
            """, ErrorCodes.MissingKey, 1, 1, null
        },
        {
            "recipe that is a list", """
            - merge_method: linear
            """, ErrorCodes.InvalidValue, 1, 1, null
        },
    };

    [Theory]
    [MemberData(nameof(Corpus))]
    public void Malformed_recipes_fail_with_code_and_position(string @case, string yaml, string code, int line, int column, string? suggestion)
    {
        var error = Assert.Throws<MergeBuildException>(() => RecipeParser.Parse(yaml, File));

        Assert.True(code == error.Code, $"{@case}: expected {code}, got {error.Code}: {error.ToDiagnosticLine()}");
        Assert.Equal(new SourceLocation(File, line, column), error.Location);
        Assert.False(string.IsNullOrWhiteSpace(error.Message));
        if (suggestion is not null)
        {
            Assert.Contains($"did you mean '{suggestion}'?", error.Message, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("")]
    [InlineData("   \n\n")]
    [InlineData("# just a comment\n")]
    [InlineData("---\n")]
    [InlineData("---\n---\n")]
    public void Empty_recipes_are_a_clear_error(string yaml)
    {
        var error = Assert.Throws<MergeBuildException>(() => RecipeParser.Parse(yaml, File));

        Assert.Equal(ErrorCodes.MissingKey, error.Code);
        Assert.Contains("empty", error.Message, StringComparison.Ordinal);
        Assert.Equal(File, error.Location!.File);
        Assert.True(error.Location.Line >= 1);
    }

    [Fact]
    public void Unknown_key_message_names_the_key_and_the_fix()
    {
        var error = Assert.Throws<MergeBuildException>(() => RecipeParser.Parse("merge_methd: linear\n", File));

        Assert.Equal("unknown key 'merge_methd' in the recipe; did you mean 'merge_method'?", error.Message);
        Assert.Contains("merge_method", error.Hint, StringComparison.Ordinal);
    }
}
