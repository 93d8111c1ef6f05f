using System.Globalization;
using System.Text.Json.Nodes;
using MergeBuild.Models;

namespace MergeBuild.Tokenizers;

/// <summary>
/// Writes a merged model's tokenizer files. Without a tokenizer setting or chat template the donor's files are copied
/// unchanged. With a vocabulary, tokenizer.json, tokenizer_config.json and special_tokens_map.json are written for it
/// (other formats of the old vocabulary, such as tokenizer.model or merges.txt, would contradict it and are left out).
/// A chat template is written into tokenizer_config.json.
/// </summary>
public static class TokenizerFileWriter
{
    public const string TokenizerConfigFile = "tokenizer_config.json";
    public const string SpecialTokensMapFile = "special_tokens_map.json";
    private const string ChatTemplateFile = "chat_template.jinja";
    private const string ChatTemplateJsonFile = "chat_template.json";

    /// <summary>Writes the tokenizer files into <paramref name="outputFolder"/> and returns their paths.</summary>
    public static List<string> Write(string donorFolder, OutputVocabulary? vocabulary, string? chatTemplate,
        string outputFolder)
    {
        var written = new List<string>();
        if (vocabulary is null)
        {
            foreach (var name in ModelFolder.TokenizerFiles)
            {
                var isTemplateFile = name is ChatTemplateFile or ChatTemplateJsonFile;
                var source = Path.Combine(donorFolder, name);
                if (!File.Exists(source) || (chatTemplate is not null && isTemplateFile))
                {
                    continue; // a recipe's chat template replaces the donor's template files
                }

                var destination = Path.Combine(outputFolder, name);
                if (name == TokenizerConfigFile && chatTemplate is not null)
                {
                    WriteJson(destination, WithTemplate(ReadObject(source), chatTemplate));
                }
                else
                {
                    File.Copy(source, destination, overwrite: true);
                }

                written.Add(destination);
            }

            return written;
        }

        var tokenizer = Path.Combine(outputFolder, TokenizerJson.FileName);
        File.WriteAllText(tokenizer, vocabulary.Tokenizer.ToJson());
        written.Add(tokenizer);

        var configSource = Path.Combine(vocabulary.TemplateFolder, TokenizerConfigFile);
        if (File.Exists(configSource))
        {
            var config = TokenizerConfig(ReadObject(configSource), vocabulary);
            var destination = Path.Combine(outputFolder, TokenizerConfigFile);
            WriteJson(destination, chatTemplate is null ? config : WithTemplate(config, chatTemplate));
            written.Add(destination);
        }

        var mapSource = Path.Combine(vocabulary.TemplateFolder, SpecialTokensMapFile);
        if (File.Exists(mapSource) || vocabulary.AdditionalSpecialTokens.Count > 0)
        {
            var map = File.Exists(mapSource) ? ReadObject(mapSource) : [];
            AddSpecialTokens(map, vocabulary.AdditionalSpecialTokens);
            var destination = Path.Combine(outputFolder, SpecialTokensMapFile);
            WriteJson(destination, Sorted(map));
            written.Add(destination);
        }

        var templateSource = Path.Combine(vocabulary.TemplateFolder, ChatTemplateFile);
        if (chatTemplate is null && File.Exists(templateSource))
        {
            var destination = Path.Combine(outputFolder, ChatTemplateFile);
            File.Copy(templateSource, destination, overwrite: true);
            written.Add(destination);
        }

        return written;
    }

    /// <summary>The template's tokenizer_config.json with the output's added tokens and special tokens.</summary>
    private static JsonObject TokenizerConfig(JsonObject config, OutputVocabulary vocabulary)
    {
        if (config["added_tokens_decoder"] is JsonObject decoder || vocabulary.NewAddedTokens.Count > 0)
        {
            decoder = config["added_tokens_decoder"] as JsonObject ?? [];
            foreach (var (id, _) in decoder.ToList())
            {
                // Tokens stripped from the vocabulary (ids past vocab_size) leave the decoder too.
                if (!int.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n >= vocabulary.Tokens.Count)
                {
                    decoder.Remove(id);
                }
            }

            foreach (var token in vocabulary.NewAddedTokens)
            {
                var flags = vocabulary.Tokenizer.FlagsOf(token)!;
                decoder[vocabulary.Ids[token].ToString(CultureInfo.InvariantCulture)] = flags.ToDecoderEntry(token);
            }

            config["added_tokens_decoder"] = Sorted(decoder);
        }

        AddSpecialTokens(config, vocabulary.AdditionalSpecialTokens);
        return Sorted(config);
    }

    private static void AddSpecialTokens(JsonObject json, IReadOnlyList<string> tokens)
    {
        if (tokens.Count == 0)
        {
            return;
        }

        if (json["additional_special_tokens"] is not JsonArray list)
        {
            json["additional_special_tokens"] = list = [];
        }

        foreach (var token in tokens)
        {
            list.Add(token);
        }
    }

    private static JsonObject WithTemplate(JsonObject config, string template)
    {
        config["chat_template"] = template;
        return Sorted(config);
    }

    /// <summary>transformers writes these files with sorted keys; doing the same keeps diffs against its output small.</summary>
    private static JsonObject Sorted(JsonObject json)
    {
        var sorted = new JsonObject();
        foreach (var (key, value) in json.OrderBy(p => p.Key, StringComparer.Ordinal).ToList())
        {
            json.Remove(key);
            sorted[key] = value;
        }

        return sorted;
    }

    private static JsonObject ReadObject(string path) =>
        JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? [];

    private static void WriteJson(string path, JsonObject json) =>
        File.WriteAllText(path, json.ToJsonString(TokenizerJson.Indented) + "\n");
}
