using System.Text.Json;
using System.Text.Unicode;
using MergeBuild.Diagnostics;

namespace MergeBuild.Eval.Tokenization;

/// <summary>
/// Loads a model folder's tokenizer from <c>tokenizer.json</c> (the "fast" tokenizer format), with BOS and EOS from
/// <c>tokenizer_config.json</c> or, failing that, from <c>generation_config.json</c> / <c>config.json</c>.
/// </summary>
public static class TokenizerLoader
{
    public const string FileName = "tokenizer.json";

    /// <summary>Largest tokenizer.json read.</summary>
    public const long MaxBytes = 256L * 1024 * 1024;

    /// <summary>
    /// Reads the tokenizer of <paramref name="folder"/>. MB6002 when there is no tokenizer.json or it uses a
    /// component not implemented here (e.g. a Unigram or WordPiece model), MB6003 when the file is malformed.
    /// </summary>
    public static HuggingFaceTokenizer Load(string folder)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        var path = Path.Combine(folder, FileName);
        if (!File.Exists(path))
        {
            var hint = File.Exists(Path.Combine(folder, "tokenizer.model"))
                ? "Only tokenizer.json is read, not SentencePiece's tokenizer.model; convert it with transformers " +
                  "(AutoTokenizer.from_pretrained(folder).save_pretrained(folder))."
                : "Copy the model's tokenizer.json into the folder (a merge copies it from the base model).";
            throw new MergeBuildException(ErrorCodes.UnsupportedTokenizer, "the model folder has no tokenizer.json.",
                new SourceLocation(folder), hint);
        }

        var json = new TokenizerJson(path);

        // The largest real tokenizer.json files (256k-token vocabularies) are a few tens of megabytes.
        if (new FileInfo(path).Length > MaxBytes)
        {
            throw json.Malformed($"the file is larger than {MaxBytes:N0} bytes.");
        }

        using var document = Parse(File.ReadAllBytes(path), json);
        var root = document.RootElement;
        var added = ReadAddedTokens(root, json);
        var tokenizer = new HuggingFaceTokenizer(
            added,
            Normalizer.Create(TokenizerJson.Property(root, "normalizer"), json),
            PreTokenizer.Create(TokenizerJson.Property(root, "pre_tokenizer"), json),
            TokenModel.Create(TokenizerJson.Property(root, "model"), json),
            PostProcessor.Create(TokenizerJson.Property(root, "post_processor"), json),
            TokenDecoder.Create(TokenizerJson.Property(root, "decoder"), json));
        tokenizer.SourcePath = path;
        tokenizer.BosId = SpecialTokenIds.Resolve(folder, "bos", tokenizer);
        tokenizer.EosId = SpecialTokenIds.Resolve(folder, "eos", tokenizer);
        return tokenizer;
    }

    private static JsonDocument Parse(byte[] bytes, TokenizerJson json)
    {
        // Strings are decoded lazily; invalid UTF-8 would otherwise surface mid-load as an InvalidOperationException.
        if (!Utf8.IsValid(bytes))
        {
            throw json.Malformed("not valid UTF-8.");
        }

        try
        {
            return JsonDocument.Parse(bytes, new JsonDocumentOptions { MaxDepth = 256, AllowDuplicateProperties = false });
        }
        catch (JsonException e)
        {
            throw json.Malformed("not valid JSON: " + e.Message);
        }
    }

    private static List<AddedToken> ReadAddedTokens(JsonElement root, TokenizerJson json)
    {
        var tokens = new List<AddedToken>();
        if (TokenizerJson.Property(root, "added_tokens").ValueKind != JsonValueKind.Array)
        {
            return tokens;
        }

        foreach (var entry in json.Array(root, "added_tokens"))
        {
            tokens.Add(new AddedToken(json.Int(entry, "id"), json.String(entry, "content"),
                TokenizerJson.Bool(entry, "special", false), TokenizerJson.Bool(entry, "lstrip", false),
                TokenizerJson.Bool(entry, "rstrip", false)));
        }

        return tokens;
    }
}
