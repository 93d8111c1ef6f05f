using System.Text.Json.Nodes;
using MergeBuild.Diagnostics;

namespace MergeBuild.Tokenizers;

/// <summary>
/// Resolves the recipe's <c>chat_template</c> the way mergekit does: <c>auto</c> picks the template most input models
/// share, a known name picks a built-in template, anything else that looks like Jinja is used literally. Templates
/// are only ever written into tokenizer_config.json, never evaluated.
/// </summary>
public static class ChatTemplates
{
    /// <summary>MergeBuild's own short templates for the formats mergekit ships under these names.</summary>
    public static readonly IReadOnlyDictionary<string, string> BuiltIn = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["chatml"] =
            "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}" +
            "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}",
        ["llama3"] =
            "{{ bos_token }}{% for message in messages %}{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + " +
            "message['content'] | trim + '<|eot_id|>' }}{% endfor %}" +
            "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}",
        ["alpaca"] =
            "{% for message in messages %}{% if message['role'] == 'user' %}{{ '### Instruction:\\n' + message['content'] + '\\n\\n' }}" +
            "{% elif message['role'] == 'assistant' %}{{ '### Response:\\n' + message['content'] + eos_token + '\\n\\n' }}" +
            "{% else %}{{ message['content'] + '\\n\\n' }}{% endif %}{% endfor %}" +
            "{% if add_generation_prompt %}{{ '### Response:\\n' }}{% endif %}",
        ["mistral"] =
            "{{ bos_token }}{% for message in messages %}{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}" +
            "{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token }}{% endif %}{% endfor %}",
        ["zephyr"] =
            "{% for message in messages %}{{ '<|' + message['role'] + '|>\\n' + message['content'] + eos_token + '\\n' }}{% endfor %}" +
            "{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% endif %}",
    };

    /// <summary>
    /// The template text to write, or null when <c>auto</c> finds no template among the models (the output then keeps
    /// whatever its tokenizer files carry).
    /// </summary>
    public static string? Resolve(string setting, IEnumerable<string> modelFolders, SourceLocation location)
    {
        if (setting == "auto")
        {
            // Most common template; ties go to the model named first (mergekit's Counter keeps first-seen order).
            return modelFolders.Select(TemplateOf).OfType<string>().Select(t => t.Trim())
                .GroupBy(t => t, StringComparer.Ordinal)
                .Select((g, index) => (Template: g.Key, Count: g.Count(), Index: index))
                .OrderByDescending(g => g.Count).ThenBy(g => g.Index)
                .Select(g => g.Template).FirstOrDefault();
        }

        if (BuiltIn.TryGetValue(setting, out var builtIn))
        {
            return builtIn;
        }

        if (setting.Length < 20 || !setting.Contains('{', StringComparison.Ordinal))
        {
            throw new MergeBuildException(ErrorCodes.InvalidValue,
                $"chat_template '{setting}' is neither a built-in template nor a Jinja template.", location,
                $"Use auto, one of {string.Join(", ", BuiltIn.Keys)}, or a literal Jinja template.");
        }

        return setting;
    }

    /// <summary>A model's chat template: chat_template.jinja, else tokenizer_config.json's (the "default" one of a list).</summary>
    internal static string? TemplateOf(string folder)
    {
        var jinja = Path.Combine(folder, "chat_template.jinja");
        if (File.Exists(jinja))
        {
            return File.ReadAllText(jinja);
        }

        var config = Path.Combine(folder, TokenizerFileWriter.TokenizerConfigFile);
        if (!File.Exists(config) || JsonNode.Parse(File.ReadAllText(config)) is not JsonObject json)
        {
            return null;
        }

        return json["chat_template"] switch
        {
            JsonValue value when value.TryGetValue(out string? text) => text,
            JsonArray list => list.OfType<JsonObject>()
                .FirstOrDefault(t => t["name"]?.GetValue<string>() == "default")?["template"]?.GetValue<string>(),
            _ => null,
        };
    }
}
