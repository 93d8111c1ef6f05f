using MergeBuild.Recipes;
using MergeBuild.Tensors;
using MergeBuild.Tokenizers;

namespace MergeBuild.Planning;

/// <summary>
/// A validated recipe turned into one job per output tensor. Built from headers and configs only, so making
/// one is cheap whatever the models' size; executing it is where the tensors are read.
/// </summary>
public sealed class MergePlan
{
    public required RecipeSet RecipeSet { get; init; }

    /// <summary>The document this plan merges (the last one, unless it is an intermediate of a multi-document recipe).</summary>
    public required Recipe Recipe { get; init; }

    /// <summary>Every model the recipe reads, in the order it first names them.</summary>
    public required IReadOnlyList<PlannedModel> Models { get; init; }

    /// <summary>The model whose config and tokenizer the output takes (base_model, else the first model).</summary>
    public required PlannedModel Donor { get; init; }

    /// <summary>Output tensors in module order: embeddings, layers ascending, then the head.</summary>
    public required IReadOnlyList<TensorJob> Jobs { get; init; }

    /// <summary>The output's layer count when slices change it (written to num_hidden_layers), else null.</summary>
    public int? OutputLayerCount { get; init; }

    /// <summary>The dtype recorded in the output config's torch_dtype (out_dtype, else dtype), or null to keep the donor's.</summary>
    public DType? ConfigDType { get; init; }

    /// <summary>
    /// The output vocabulary when the recipe sets a tokenizer policy (embedding-like tensors are then re-indexed into
    /// it); null when the donor's tokenizer is copied.
    /// </summary>
    public OutputVocabulary? Vocabulary { get; init; }

    /// <summary>The chat template to write into tokenizer_config.json, or null to keep the tokenizer's own.</summary>
    public string? ChatTemplate { get; init; }

    /// <summary>Things the user should know that do not stop the merge.</summary>
    public required IReadOnlyList<string> Warnings { get; init; }

    public long OutputBytes => Jobs.Sum(j => j.OutputBytes);

    public long ParameterCount => Jobs.Sum(j => j.ElementCount);
}
