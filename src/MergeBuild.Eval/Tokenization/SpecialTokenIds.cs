using System.Text.Json;

namespace MergeBuild.Eval.Tokenization;

/// <summary>
/// Finds a model's BOS/EOS ids the way transformers does: the token named in <c>tokenizer_config.json</c>
/// (<c>bos_token</c> / <c>eos_token</c>, a string or an object with <c>content</c>), else the id in
/// <c>generation_config.json</c>, else in <c>config.json</c> (<c>bos_token_id</c> / <c>eos_token_id</c>, an integer or
/// a list whose first entry is used).
/// </summary>
public static class SpecialTokenIds
{
    /// <summary>
    /// The id of the <paramref name="kind"/> ("bos" or "eos") token of the model in <paramref name="folder"/>.
    /// </summary>
    public static int? Resolve(string folder, string kind, ITextTokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        using (var config = TryRead(Path.Combine(folder, "tokenizer_config.json")))
        {
            if (config is not null && config.RootElement.ValueKind == JsonValueKind.Object &&
                config.RootElement.TryGetProperty(kind + "_token", out var token))
            {
                var content = token.ValueKind switch
                {
                    JsonValueKind.String => token.GetString(),
                    JsonValueKind.Object when token.TryGetProperty("content", out var c) &&
                                              c.ValueKind == JsonValueKind.String => c.GetString(),
                    _ => null,
                };
                return content is null ? null : tokenizer.TokenToId(content);
            }
        }

        return ConfigIds(folder, kind + "_token_id").FirstOrDefault();
    }

    /// <summary>
    /// Every id listed as <c>eos_token_id</c> in generation_config.json (else config.json): generation stops at any
    /// of them (Llama 3 instruct models list several).
    /// </summary>
    public static IReadOnlyList<int> GenerationEosIds(string folder) =>
        [.. ConfigIds(folder, "eos_token_id").OfType<int>()];

    private static IEnumerable<int?> ConfigIds(string folder, string key)
    {
        foreach (var file in new[] { "generation_config.json", "config.json" })
        {
            using var document = TryRead(Path.Combine(folder, file));
            if (document is null || document.RootElement.ValueKind != JsonValueKind.Object ||
                !document.RootElement.TryGetProperty(key, out var value))
            {
                continue;
            }

            if (value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var single))
            {
                return [single];
            }

            if (value.ValueKind == JsonValueKind.Array)
            {
                return [.. value.EnumerateArray()
                    .Where(v => v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out _))
                    .Select(v => (int?)v.GetInt32())];
            }
        }

        return [];
    }

    private static JsonDocument? TryRead(string path)
    {
        if (!File.Exists(path))
        {
            return null;
        }

        try
        {
            return JsonDocument.Parse(File.ReadAllBytes(path));
        }
        catch (JsonException)
        {
            // A broken optional file is treated as absent; the tokenizer itself was already validated.
            return null;
        }
    }
}
