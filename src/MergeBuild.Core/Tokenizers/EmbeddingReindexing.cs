using MergeBuild.Diagnostics;
using MergeBuild.Planning;
using MergeBuild.Tensors;

namespace MergeBuild.Tokenizers;

/// <summary>
/// Re-indexes one embedding-like matrix of every input model into the output vocabulary, by mergekit's rules
/// (<c>mergekit/tokenizer/embed.py</c>). Each token first gets a default row: an explicit <c>tokenizer.tokens</c>
/// source; else the row of the only model that has it; else zero when none has it; else the base model's row when the
/// base has it; else the mean of the rows of the models that have it. Then every model's matrix takes its own row
/// where it has the token (unless the token is forced) and the default elsewhere; padding rows are the mean of the
/// model's real rows. All of it happens in the compute dtype, as mergekit does after casting on load. Models are
/// visited in recipe order, so means are summed in a fixed order.
/// </summary>
public static class EmbeddingReindexing
{
    /// <summary>The output shape [rows, hidden] of a re-indexed tensor, after checking that the inputs can be re-indexed.</summary>
    internal static long[] Shape(OutputVocabulary vocabulary, IReadOnlyList<JobInput> inputs, JobInput? baseInput,
        string outputName)
    {
        var all = baseInput is null ? inputs : [baseInput, .. inputs];
        var first = all[0];
        foreach (var input in all)
        {
            var shape = input.Tensor.Shape;
            var needed = vocabulary.Models[input.Model].Rows;
            if (shape.Length != 2 || shape[1] != first.Tensor.Shape[1] || shape[0] < needed)
            {
                throw new MergeBuildException(ErrorCodes.ShapeMismatch,
                    $"'{input.Model.Reference.Text}' has {input.Tensor.Name} of shape {input.Tensor.ShapeText}; re-indexing " +
                    $"it into the merged vocabulary needs [≥{needed}, {first.Tensor.Shape[1]}] (a row per token, the " +
                    $"hidden size of '{first.Model.Reference.Text}').", input.Location,
                    "Merge models of the same hidden size whose config vocab_size matches their embedding rows.");
            }
        }

        foreach (var (_, rule) in vocabulary.Settings.Where(r => r.Value.Model is not null))
        {
            if (all.All(i => i.Model != rule.Model))
            {
                throw new MergeBuildException(ErrorCodes.TokenNotFound,
                    $"a token's embedding comes from '{rule.Model!.Reference.Text}', which does not feed {outputName}.",
                    rule.Location, "Name one of the models this tensor is merged from.");
            }
        }

        return [vocabulary.Rows, first.Tensor.Shape[1]];
    }

    /// <summary>
    /// Builds the re-indexed matrix of every model in <paramref name="matrices"/> (row-major [model rows, hidden],
    /// values already in <paramref name="computeDType"/>). <paramref name="models"/> are the models feeding the tensor,
    /// in recipe order; the result has one [<see cref="OutputVocabulary.Rows"/>, hidden] matrix per model.
    /// </summary>
    public static Dictionary<PlannedModel, float[]> Reindex(OutputVocabulary vocabulary,
        IReadOnlyList<PlannedModel> models, IReadOnlyDictionary<PlannedModel, float[]> matrices, int hidden,
        DType computeDType)
    {
        var defaults = DefaultRows(vocabulary, models, matrices, hidden, computeDType);
        var tokens = vocabulary.Tokens.Count;
        var result = new Dictionary<PlannedModel, float[]>();
        foreach (var model in models)
        {
            var source = matrices[model];
            var permutation = vocabulary.Permutations[model];
            var matrix = new float[(long)vocabulary.Rows * hidden];
            for (var id = 0; id < tokens; id++)
            {
                var forced = vocabulary.Settings.TryGetValue(id, out var rule) && rule.Force;
                var row = permutation[id] >= 0 && !forced
                    ? source.AsSpan(permutation[id] * hidden, hidden)
                    : defaults[id];
                row.CopyTo(matrix.AsSpan(id * hidden, hidden));
            }

            FillPadding(matrix, tokens, vocabulary.Rows, hidden, computeDType);
            result[model] = matrix;
        }

        return result;
    }

    /// <summary>Each token's default row (mergekit's order of rules).</summary>
    private static float[][] DefaultRows(OutputVocabulary vocabulary, IReadOnlyList<PlannedModel> models,
        IReadOnlyDictionary<PlannedModel, float[]> matrices, int hidden, DType computeDType)
    {
        var defaults = new float[vocabulary.Tokens.Count][];
        for (var id = 0; id < defaults.Length; id++)
        {
            var having = models.Where(m => vocabulary.Permutations[m][id] >= 0).ToList();
            float[] Row(PlannedModel model, int row) => matrices[model].AsSpan(row * hidden, hidden).ToArray();
            vocabulary.Settings.TryGetValue(id, out var rule);
            defaults[id] = rule?.Kind switch
            {
                TokenRuleKind.Zero => new float[hidden],
                TokenRuleKind.SameToken or TokenRuleKind.ModelRow => Row(rule.Model!, rule.Row),
                _ when having.Count == 1 => Row(having[0], vocabulary.Permutations[having[0]][id]),
                _ when having.Count == 0 => new float[hidden],
                _ when vocabulary.BaseModel is { } b && having.Contains(b) => Row(b, vocabulary.Permutations[b][id]),
                _ => Mean(having.Select(m => Row(m, vocabulary.Permutations[m][id])).ToList(), hidden, computeDType),
            };
        }

        return defaults;
    }

    /// <summary>torch's <c>embed += row</c> then <c>embed /= count</c> in the compute dtype: rounded after every step.</summary>
    private static float[] Mean(List<float[]> rows, int hidden, DType computeDType)
    {
        var sum = new float[hidden];
        foreach (var row in rows)
        {
            for (var e = 0; e < hidden; e++)
            {
                sum[e] = FloatCodec.Round(computeDType, sum[e] + row[e]);
            }
        }

        for (var e = 0; e < hidden; e++)
        {
            sum[e] = FloatCodec.Round(computeDType, sum[e] / rows.Count);
        }

        return sum;
    }

    /// <summary>Padding rows get the mean of the real rows (John Hewitt's initialization, as mergekit does).</summary>
    private static void FillPadding(float[] matrix, int tokens, int rows, int hidden, DType computeDType)
    {
        if (rows == tokens)
        {
            return;
        }

        var mean = new float[hidden];
        for (var e = 0; e < hidden; e++)
        {
            var sum = 0.0;
            for (var id = 0; id < tokens; id++)
            {
                sum += matrix[id * hidden + e];
            }

            mean[e] = FloatCodec.Round(computeDType, (float)(sum / tokens));
        }

        for (var id = tokens; id < rows; id++)
        {
            mean.CopyTo(matrix.AsSpan(id * hidden, hidden));
        }
    }
}
