using System.Text.Encodings.Web;
using System.Text.Json;
using MergeBuild.Models;
using MergeBuild.Planning;
using MergeBuild.Tensors;

namespace MergeBuild.Execution;

/// <summary>The files of a merged model folder besides its weights: config, tokenizer and generation config.</summary>
internal static class OutputFiles
{
    private static readonly JsonSerializerOptions IndentedJson = new()
    {
        WriteIndented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>Writes the donor's config.json with the output's dtype and layer count.</summary>
    public static string WriteConfig(MergePlan plan, AtomicOutputFolder output)
    {
        var json = plan.Donor.Folder.Config.Clone();
        if (plan.ConfigDType is { } dtype)
        {
            // transformers 4 writes torch_dtype, transformers 5 writes dtype: update whichever the donor has.
            var name = DTypes.ToTorchName(dtype);
            if (json.ContainsKey("dtype"))
            {
                json["dtype"] = name;
            }

            if (json.ContainsKey("torch_dtype") || !json.ContainsKey("dtype"))
            {
                json["torch_dtype"] = name;
            }
        }

        if (plan.OutputLayerCount is { } layers)
        {
            json["num_hidden_layers"] = layers;
        }

        var path = output.PathOf(ModelConfig.FileName);
        File.WriteAllText(path, json.ToJsonString(IndentedJson) + "\n");
        FaultInjection.Point("config written");
        return path;
    }

    /// <summary>Copies generation_config.json and, when asked, the tokenizer files from the donor.</summary>
    public static List<string> CopySideFiles(MergePlan plan, AtomicOutputFolder output, bool copyTokenizer)
    {
        var names = copyTokenizer
            ? ModelFolder.TokenizerFiles.Append(ModelFolder.GenerationConfigFile)
            : [ModelFolder.GenerationConfigFile];
        var copied = new List<string>();
        foreach (var name in names)
        {
            var source = Path.Combine(plan.Donor.Path, name);
            if (File.Exists(source))
            {
                var destination = output.PathOf(name);
                File.Copy(source, destination, overwrite: true);
                FaultInjection.Point("side file copied");
                copied.Add(destination);
            }
        }

        return copied;
    }
}
