using MergeBuild.Checkpoints;
using MergeBuild.Diagnostics;

namespace MergeBuild.Lora;

/// <summary>One adapted weight: the adapter's A and B and the module's scaling.</summary>
internal sealed record LoraDelta(TensorInfo A, TensorInfo B, double Scaling, bool Transposed);

/// <summary>
/// Pairs an adapter's tensors with the model's weights (PEFT names: <c>base_model.model.&lt;module&gt;.lora_A.weight</c>,
/// <c>lora_B.weight</c>, <c>lora_embedding_A/B</c>; other tensors are full <c>modules_to_save</c> weights) and checks
/// every shape before anything is written. An adapter tensor that matches nothing is an error, not silently dropped.
/// </summary>
internal sealed class LoraPlan
{
    private LoraPlan(Dictionary<string, LoraDelta> deltas, Dictionary<string, TensorInfo> replacements)
    {
        Deltas = deltas;
        Replacements = replacements;
    }

    public IReadOnlyDictionary<string, LoraDelta> Deltas { get; }

    public IReadOnlyDictionary<string, TensorInfo> Replacements { get; }

    public static LoraPlan Build(CheckpointFiles model, SafetensorsFile adapter, LoraAdapterConfig config, string adapterFile)
    {
        var a = new Dictionary<string, (TensorInfo Tensor, bool Embedding)>(StringComparer.Ordinal);
        var b = new Dictionary<string, TensorInfo>(StringComparer.Ordinal);
        var replacements = new Dictionary<string, TensorInfo>(StringComparer.Ordinal);
        foreach (var tensor in adapter.Header.Tensors)
        {
            var name = LoraMaterializer.ModuleTensorName(tensor.Name);
            if (TrySplit(name, ".lora_A.weight", out var module) || TrySplit(name, ".lora_embedding_A", out module))
            {
                a[module] = (tensor, name.EndsWith("_embedding_A", StringComparison.Ordinal));
            }
            else if (TrySplit(name, ".lora_B.weight", out module) || TrySplit(name, ".lora_embedding_B", out module))
            {
                b[module] = tensor;
            }
            else
            {
                var target = name.Replace(".modules_to_save.default", "", StringComparison.Ordinal);
                if (model.Find(target) is null)
                {
                    throw Error(adapterFile, $"adapter tensor '{tensor.Name}' matches no weight of the model.");
                }

                replacements[target] = tensor;
            }
        }

        var deltas = new Dictionary<string, LoraDelta>(StringComparer.Ordinal);
        foreach (var (module, (tensorA, isEmbedding)) in a)
        {
            if (!b.Remove(module, out var tensorB))
            {
                throw Error(adapterFile, $"'{module}' has lora_A but no lora_B.");
            }

            var weightName = module + ".weight";
            var weight = model.Find(weightName) ?? throw Error(adapterFile,
                $"the adapter adapts '{module}', but the model has no '{weightName}'.");
            var transposed = isEmbedding || config.FanInFanOut;
            CheckShapes(weight, tensorA, tensorB, transposed, adapterFile);
            deltas[weightName] = new LoraDelta(tensorA, tensorB, config.Scaling(module), transposed);
        }

        if (b.Keys.FirstOrDefault() is { } orphan)
        {
            throw Error(adapterFile, $"'{orphan}' has lora_B but no lora_A.");
        }

        return new LoraPlan(deltas, replacements);
    }

    private static void CheckShapes(TensorInfo weight, TensorInfo a, TensorInfo b, bool transposed, string file)
    {
        // Untransposed: W [out, in] += B [out, r] · A [r, in]. Transposed: W [in, out] += (B·A)ᵀ.
        var ok = weight.Shape.Length == 2 && a.Shape.Length == 2 && b.Shape.Length == 2 && a.Shape[0] == b.Shape[1] &&
                 (transposed
                     ? weight.Shape[0] == a.Shape[1] && weight.Shape[1] == b.Shape[0]
                     : weight.Shape[0] == b.Shape[0] && weight.Shape[1] == a.Shape[1]);
        if (!ok)
        {
            throw Error(file, $"lora_A {a.ShapeText} and lora_B {b.ShapeText} do not fit {weight.Name} {weight.ShapeText}.");
        }
    }

    private static bool TrySplit(string name, string suffix, out string module)
    {
        module = name.EndsWith(suffix, StringComparison.Ordinal) ? name[..^suffix.Length] : "";
        return module.Length > 0;
    }

    private static MergeBuildException Error(string file, string message) =>
        new(ErrorCodes.ShapeMismatch, message, new SourceLocation(file),
            "Check that the adapter was trained on this base model.");
}
