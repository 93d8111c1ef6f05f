using MergeBuild.Diagnostics;
using MergeBuild.Recipes;
using MergeBuild.Tensors;
using MergeBuild.Tests;

namespace MergeBuild.Core.Tests.Recipes;

public class RecipeParserTests
{
    private const string File = "recipes/merge.yml";

    private static Recipe ParseOne(string yaml) => Assert.Single(RecipeParser.Parse(yaml, File).Documents);

    private static double Number(ParameterSetting setting) => Assert.IsType<ScalarSetting>(setting).Number!.Value;

    [Fact]
    public void Models_form_reads_models_parameters_and_positions()
    {
        var recipe = ParseOne("""
            merge_method: linear
            models:
              - model: ./m1
                parameters:
                  weight: 0.7
              - model: ./m2
                parameters:
                  weight: 0.3
            parameters:
              normalize: false
            dtype: torch.bfloat16
            out_dtype: float16
            """);

        Assert.Equal("linear", recipe.MergeMethod);
        Assert.Equal("linear", recipe.Method.Name);
        Assert.Equal(new SourceLocation(File, 1, 15), recipe.MergeMethodLocation);
        Assert.False(recipe.UsesSlices);
        Assert.Empty(recipe.Slices);
        Assert.Equal(2, recipe.Models.Count);
        Assert.Equal("./m1", recipe.Models[0].Model.Path);
        Assert.Equal(new SourceLocation(File, 3, 12), recipe.Models[0].Model.Location);
        Assert.Equal(new SourceLocation(File, 3, 5), recipe.Models[0].Location);
        Assert.Equal(0.7, Number(recipe.Models[0].Parameters["weight"]));
        Assert.Equal(new SourceLocation(File, 5, 15), recipe.Models[0].Parameters["weight"].Location);
        Assert.Equal(new SourceLocation(File, 5, 7), recipe.Models[0].Parameters.NameLocation("weight"));
        Assert.Equal(0.3, Number(recipe.Models[1].Parameters["weight"]));
        Assert.Equal(0.0, Number(recipe.Parameters["normalize"]));
        Assert.Equal(DType.BF16, recipe.DType);
        Assert.Equal(new SourceLocation(File, 11, 8), recipe.DTypeLocation);
        Assert.Equal(DType.F16, recipe.OutDType);
        Assert.Null(recipe.BaseModel);
        Assert.Null(recipe.Name);
    }

    [Fact]
    public void Slices_form_reads_layer_ranges_slice_base_and_parameters()
    {
        var recipe = ParseOne("""
            merge_method: passthrough
            base_model: base
            slices:
              - sources:
                  - model: base
                    layer_range: [0, 16]
                  - model: other
                    layer_range: [4, 20]
                    parameters:
                      scale: 1
                base_model: other-base
                parameters:
                  scale: 0.25
                residual_weight: 0.5
              - sources:
                  - model: base
                    layer_range: [16, 32]
            """);

        Assert.True(recipe.UsesSlices);
        Assert.Empty(recipe.Models);
        Assert.Equal(2, recipe.Slices.Count);
        var first = recipe.Slices[0];
        Assert.Equal(2, first.Sources.Count);
        Assert.Equal(new LayerRange(0, 16, new SourceLocation(File, 6, 22)), first.Sources[0].LayerRange);
        Assert.Equal(4, first.Sources[1].LayerRange!.Start);
        Assert.Equal(20, first.Sources[1].LayerRange!.End);
        Assert.Equal(16, first.Sources[1].LayerRange!.Count);
        Assert.Equal(1.0, Number(first.Sources[1].Parameters["scale"]));
        Assert.Same(ParameterMap.Empty, first.Sources[0].Parameters);
        Assert.Equal("other-base", first.BaseModel!.Path);
        Assert.Equal(0.25, Number(first.Parameters["scale"]));
        Assert.Equal(0.5, first.ResidualWeight);
        Assert.Equal(new LayerRange(16, 32, new SourceLocation(File, 17, 22)), recipe.Slices[1].Sources[0].LayerRange);
        Assert.Equal("base", recipe.BaseModel!.Path);
    }

    [Fact]
    public void Revision_and_lora_are_split_from_the_string_form()
    {
        var recipe = ParseOne("""
            merge_method: linear
            models:
              - model: org/model@v1.0+org/adapter@main
                parameters: {weight: 1}
              - model: plain+lora
                parameters: {weight: 1}
              - model: pinned@abc123
                parameters: {weight: 1}
            """);

        var a = recipe.Models[0].Model;
        Assert.Equal("org/model", a.Path);
        Assert.Equal("v1.0", a.Revision);
        Assert.Equal("org/adapter", a.LoraPath);
        Assert.Equal("main", a.LoraRevision);
        Assert.Equal("org/model@v1.0+org/adapter@main", a.Text);
        var b = recipe.Models[1].Model;
        Assert.Equal(("plain", (string?)null, "lora", (string?)null), (b.Path, b.Revision, b.LoraPath, b.LoraRevision));
        var c = recipe.Models[2].Model;
        Assert.Equal(("pinned", "abc123", (string?)null), (c.Path, c.Revision, c.LoraPath));
    }

    [Fact]
    public void Dictionary_model_references_are_read()
    {
        var recipe = ParseOne("""
            merge_method: task_arithmetic
            base_model:
              model: {path: base-model, revision: r2}
            models:
              - model:
                  model:
                    path: tuned
                  lora:
                    path: adapters/x
                    revision: v3
                  override_architecture: MistralForCausalLM
                parameters: {weight: 1.0}
            """);

        var model = recipe.Models[0].Model;
        Assert.Equal("tuned", model.Path);
        Assert.Null(model.Revision);
        Assert.Equal("adapters/x", model.LoraPath);
        Assert.Equal("v3", model.LoraRevision);
        Assert.Equal("MistralForCausalLM", model.OverrideArchitecture);
        Assert.Equal("tuned+adapters/x@v3", model.Text);
        Assert.Equal(new SourceLocation(File, 6, 7), model.Location);
        Assert.Equal(("base-model", "r2"), (recipe.BaseModel!.Path, recipe.BaseModel.Revision));
        Assert.Equal("base-model@r2", recipe.BaseModel.Text);
    }

    [Fact]
    public void Multi_document_recipes_link_names_to_earlier_documents()
    {
        var set = RecipeParser.Parse("""
            name: first-stage
            merge_method: linear
            models:
              - model: a
                parameters: {weight: 1}
              - model: b
                parameters: {weight: 1}
            ---
            merge_method: slerp
            base_model: first-stage
            models:
              - model: c
            parameters:
              t: 0.5
            """, File);

        Assert.Equal(2, set.Documents.Count);
        Assert.Equal("first-stage", set.Documents[0].Name);
        Assert.Same(set.Documents[1], set.Final);
        Assert.Equal("first-stage", set.Final.BaseModel!.IntermediateName);
        Assert.Null(set.Final.Models[0].Model.IntermediateName);
        Assert.Same(set.Documents[0], set.FindByName("first-stage"));
        Assert.Equal(new SourceLocation(File, 9, 1), set.Final.Location);
        Assert.Null(set.Documents[0].Models[0].Model.IntermediateName);
    }

    [Fact]
    public void Empty_documents_are_skipped()
    {
        var set = RecipeParser.Parse("---\nmerge_method: passthrough\nmodels:\n  - model: a\n---\n", File);

        Assert.Equal("a", Assert.Single(set.Documents).Models[0].Model.Path);
    }

    [Fact]
    public void A_name_is_only_a_reference_in_later_documents()
    {
        // The first document mentions "later" before a document of that name exists: it is a plain path there.
        var set = RecipeParser.Parse("""
            name: early
            merge_method: passthrough
            models:
              - model: later
            ---
            name: later
            merge_method: passthrough
            models:
              - model: early
            """, File);

        Assert.Null(set.Documents[0].Models[0].Model.IntermediateName);
        Assert.Equal("early", set.Documents[1].Models[0].Model.IntermediateName);
    }

    [Fact]
    public void Tokenizer_block_is_read()
    {
        var recipe = ParseOne("""
            merge_method: linear
            models:
              - model: a
                parameters: {weight: 1}
            tokenizer:
              source: base
              pad_to_multiple_of: 64
              tokens:
                <|im_start|>:
                  source: a
                  force: true
                <|im_end|>:
                  source:
                    kind: model_token
                    model: b
                    token_id: 2
                <pad>:
                  source: {kind: zero}
                <sep>:
                  source:
                    kind: model_token
                    model: c@rev
                    token: </s>
            chat_template: chatml
            """);

        var tokenizer = recipe.Tokenizer!;
        Assert.Equal("base", tokenizer.Source);
        Assert.Null(tokenizer.SourceModel);
        Assert.Equal(64, tokenizer.PadToMultipleOf);
        Assert.Equal(4, tokenizer.Tokens.Count);
        var imStart = tokenizer.Tokens["<|im_start|>"];
        Assert.True(imStart.Force);
        Assert.Equal("a", Assert.IsType<ModelEmbeddingTokenSource>(imStart.Source).Model.Path);
        var imEnd = Assert.IsType<ModelTokenSource>(tokenizer.Tokens["<|im_end|>"].Source);
        Assert.Equal(("b", (int?)2, (string?)null), (imEnd.Model.Path, imEnd.TokenId, imEnd.Token));
        Assert.False(tokenizer.Tokens["<|im_end|>"].Force);
        Assert.IsType<ZeroTokenSource>(tokenizer.Tokens["<pad>"].Source);
        var sep = Assert.IsType<ModelTokenSource>(tokenizer.Tokens["<sep>"].Source);
        Assert.Equal(("c", "rev", "</s>"), (sep.Model.Path, sep.Model.Revision, sep.Token));
        Assert.Null(recipe.TokenizerSource);
        Assert.Equal("chatml", recipe.ChatTemplate);
        Assert.Equal(["a", "a", "b", "c"], recipe.AllModelReferences().Select(r => r.Path));
    }

    [Theory]
    [InlineData("union", null)]
    [InlineData("base", null)]
    [InlineData("org/donor@main", "org/donor")]
    public void Legacy_tokenizer_source_is_read(string source, string? modelPath)
    {
        var recipe = ParseOne($"""
            merge_method: linear
            models:
              - model: a
                parameters: {"{"}weight: 1{"}"}
            tokenizer_source: {source}
            """);

        Assert.Equal(source, recipe.TokenizerSource);
        Assert.Equal(modelPath, recipe.TokenizerSourceModel?.Path);
        Assert.Equal(new SourceLocation(File, 5, 19), recipe.TokenizerSourceLocation);
        Assert.Null(recipe.Tokenizer);
    }

    [Fact]
    public void Tokenizer_block_defaults_to_union()
    {
        var recipe = ParseOne("""
            merge_method: linear
            models:
              - model: a
                parameters: {weight: 1}
            tokenizer: {}
            """);

        Assert.Equal("union", recipe.Tokenizer!.Source);
        Assert.Empty(recipe.Tokenizer.Tokens);
        Assert.Null(recipe.Tokenizer.PadToMultipleOf);
    }

    [Fact]
    public void Literal_chat_template_is_kept_verbatim()
    {
        var recipe = ParseOne("""
            merge_method: linear
            models:
              - model: a
                parameters: {weight: 1}
            chat_template: |
              {% for m in messages %}{{ m.content }}{% endfor %}
            dtype: float32
            """);

        Assert.Equal("{% for m in messages %}{{ m.content }}{% endfor %}\n", recipe.ChatTemplate);
    }

    [Fact]
    public void Gradients_are_read_with_each_value_position()
    {
        var recipe = ParseOne("""
            merge_method: slerp
            base_model: a
            models:
              - model: b
            parameters:
              t: [0, 0.5, 1, true]
            """);

        var gradient = Assert.IsType<GradientSetting>(recipe.Parameters["t"]);
        Assert.Equal([0.0, 0.5, 1.0, 1.0], gradient.Values);
        Assert.Equal(new SourceLocation(File, 6, 6), gradient.Location);
        Assert.Equal(new SourceLocation(File, 6, 15), gradient.ValueLocations[2]);
    }

    [Fact]
    public void Conditional_lists_are_read_in_order()
    {
        var recipe = ParseOne("""
            merge_method: slerp
            base_model: a
            models:
              - model: b
            parameters:
              t:
                - filter: self_attn
                  value: [0, 0.5, 1]
                - filter: mlp
                  value: 0.25
                - value: 0.5
            """);

        var conditional = Assert.IsType<ConditionalSetting>(recipe.Parameters["t"]);
        Assert.Equal(3, conditional.Entries.Count);
        Assert.Equal("self_attn", conditional.Entries[0].Filter);
        Assert.Equal([0.0, 0.5, 1.0], Assert.IsType<GradientSetting>(conditional.Entries[0].Value).Values);
        Assert.Equal("mlp", conditional.Entries[1].Filter);
        Assert.Equal(0.25, Number(conditional.Entries[1].Value));
        Assert.Null(conditional.Entries[2].Filter);
        Assert.Equal(new SourceLocation(File, 11, 7), conditional.Entries[2].Location);

        // The parsed setting evaluates as mergekit would: per tensor name, first match wins.
        Assert.Equal(0.75, ParameterEvaluation.Evaluate(conditional, "model.layers.3.self_attn.q_proj.weight", 0.75));
        Assert.Equal(0.25, ParameterEvaluation.Evaluate(conditional, "model.layers.3.mlp.up_proj.weight", 0.75));
        Assert.Equal(0.5, ParameterEvaluation.Evaluate(conditional, "model.norm.weight", 0));
    }

    [Fact]
    public void Booleans_and_quoted_numbers_are_numbers()
    {
        var recipe = ParseOne("""
            merge_method: ties
            base_model: base
            models:
              - model: a
                parameters:
                  weight: "0.5"
                  density: 1
            parameters:
              normalize: true
              int8_mask: no
            """);

        Assert.Equal(0.5, Number(recipe.Models[0].Parameters["weight"]));
        Assert.Equal(1.0, Number(recipe.Parameters["normalize"]));
        Assert.Equal(0.0, Number(recipe.Parameters["int8_mask"]));
    }

    [Fact]
    public void Gates_and_cache_sections_are_kept_raw()
    {
        var recipe = ParseOne("""
            merge_method: linear
            models:
              - model: a
                parameters: {weight: 1}
            gates:
              max_perplexity: 12
            cache: {dir: .cache}
            """);

        Assert.Equal(["gates", "cache"], recipe.Extensions.Keys.Order(StringComparer.Ordinal).Reverse());
        Assert.Equal(6, recipe.Extensions["gates"].Start.Line);
    }

    [Fact]
    public void All_model_references_follow_recipe_order()
    {
        var recipe = ParseOne("""
            merge_method: ties
            base_model: base
            slices:
              - sources:
                  - model: a
                    layer_range: [0, 2]
                  - model: b
                    layer_range: [0, 2]
                base_model: slice-base
            tokenizer_source: donor
            parameters:
              weight: 1
            """);

        Assert.Equal(["a", "b", "slice-base", "base", "donor"], recipe.AllModelReferences().Select(r => r.Path));
    }

    [Fact]
    public void Relative_model_paths_resolve_against_the_recipe_folder()
    {
        using var temp = new TempFolder();
        var path = temp.Combine("recipe.yml");
        System.IO.File.WriteAllText(path, """
            merge_method: linear
            models:
              - model: models/a
                parameters: {weight: 1}
            """);

        var set = RecipeParser.ParseFile(path);

        Assert.Equal(path, set.FilePath);
        Assert.Equal(Path.GetFullPath(temp.Path), set.BaseDirectory);
        var model = set.Final.Models[0].Model;
        Assert.Equal(Path.Combine(set.BaseDirectory, "models/a"), model.ResolvePath(set.BaseDirectory));
        Assert.Equal(path, model.Location.File);
        var rooted = Path.Combine(temp.Path, "elsewhere");
        Assert.Equal(rooted, (model with { Path = rooted }).ResolvePath(set.BaseDirectory));
    }

    [Fact]
    public void A_missing_recipe_file_is_MB2001()
    {
        using var temp = new TempFolder();
        var path = temp.Combine("nope.yml");

        var error = Assert.Throws<MergeBuildException>(() => RecipeParser.ParseFile(path));

        Assert.Equal(ErrorCodes.RecipeNotFound, error.Code);
        Assert.Equal(path, error.Location!.File);
        Assert.Contains("nope.yml", error.Message, StringComparison.Ordinal);
    }
}
