using MergeBuild.Diagnostics;

namespace MergeBuild.Checkpoints;

/// <summary>
/// Recognises PyTorch pickle weight files, which MergeBuild refuses to load: unpickling runs arbitrary code
/// embedded in the file, so a downloaded model could take over the machine.
/// </summary>
internal static class PickleWeights
{
    private static readonly string[] Extensions = [".bin", ".pt", ".pth", ".ckpt"];

    public static bool IsPickle(string fileName) =>
        fileName == "pytorch_model.bin.index.json" ||
        Extensions.Any(e => fileName.EndsWith(e, StringComparison.OrdinalIgnoreCase));

    /// <summary>The pickle weight files directly in <paramref name="folder"/>, by name.</summary>
    public static IReadOnlyList<string> In(string folder)
    {
        try
        {
            return [.. Directory.EnumerateFiles(folder).Select(Path.GetFileName).OfType<string>().Where(IsPickle)
                .Order(StringComparer.Ordinal)];
        }
        catch (Exception ex) when (CheckpointErrors.IsIoFailure(ex))
        {
            throw CheckpointErrors.Io(folder, ex);
        }
    }

    public static MergeBuildException Refused(string path, IReadOnlyList<string> files) =>
        new(ErrorCodes.PickleRefused,
            $"The model has only PyTorch pickle weights ({string.Join(", ", files)}); MergeBuild reads only " +
            "safetensors because pickle files can execute arbitrary code when they are loaded.",
            new SourceLocation(path),
            "If you trust the model, convert it once with: python -c \"from transformers import " +
            "AutoModelForCausalLM; AutoModelForCausalLM.from_pretrained('DIR').save_pretrained('DIR', " +
            "safe_serialization=True)\" (DIR = the model folder).");
}
