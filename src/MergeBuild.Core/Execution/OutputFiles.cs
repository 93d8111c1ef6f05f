using System.Text.Encodings.Web;
using System.Text.Json;
using MergeBuild.Models;
using MergeBuild.Planning;
using MergeBuild.Tensors;
using MergeBuild.Tokenizers;

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

        if (plan.Vocabulary is { } vocabulary)
        {
            json["vocab_size"] = vocabulary.Rows;
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

    /// <summary>
    /// Copies generation_config.json and, when asked, writes the tokenizer files: the donor's as they are, or the
    /// merged vocabulary's and the recipe's chat template when the recipe sets them.
    /// </summary>
    public static List<string> CopySideFiles(MergePlan plan, AtomicOutputFolder output, bool copyTokenizer)
    {
        var copied = new List<string>();
        var generation = Path.Combine(plan.Donor.Path, ModelFolder.GenerationConfigFile);
        if (File.Exists(generation))
        {
            var destination = output.PathOf(ModelFolder.GenerationConfigFile);
            File.Copy(generation, destination, overwrite: true);
            FaultInjection.Point("side file copied");
            copied.Add(destination);
        }

        // A merged vocabulary always needs its tokenizer: the donor's would give the new rows no tokens.
        if (copyTokenizer || plan.Vocabulary is not null)
        {
            copied.AddRange(TokenizerFileWriter.Write(plan.Donor.Path, plan.Vocabulary, plan.ChatTemplate,
                output.StagingPath));
            FaultInjection.Point("side file copied");
        }

        return copied;
    }
}
