using MergeBuild.Eval.Tokenization;

namespace MergeBuild.Fuzzing.Targets;

/// <summary>
/// A <c>tokenizer.json</c> through <see cref="TokenizerLoader.Load"/>, then an encode and decode of a short text,
/// because a hostile tokenizer (a catastrophic regex, a looping merge table) can do harm only when it runs.
/// </summary>
public sealed class TokenizerTarget : IFuzzTarget
{
    private const string Sample = "Hello world! Refund <SKU> 12345 ünïcødé\n\ttabs  and  spaces 😀 ";
    private readonly WorkFolder _folder = new("tokenizer");

    public TokenizerTarget()
    {
        File.Copy(RepoFiles.Path("fixtures", "models", "base", "tokenizer_config.json"), _folder.File("tokenizer_config.json"));
    }

    public string Name => "tokenizer";

    public IReadOnlyList<string> Dictionary { get; } =
    [
        .. JsonTokens.Common, "\"type\"", "\"BPE\"", "\"WordLevel\"", "\"Unigram\"", "\"WordPiece\"", "\"model\"",
        "\"vocab\"", "\"merges\"", "\"added_tokens\"", "\"normalizer\"", "\"pre_tokenizer\"", "\"post_processor\"",
        "\"decoder\"", "\"Sequence\"", "\"pretokenizers\"", "\"normalizers\"", "\"decoders\"", "\"Split\"", "\"pattern\"",
        "{\"Regex\":\"(a+)+$\"}", "{\"Regex\":\"(\"}", "{\"String\":\" \"}", "\"ByteLevel\"", "\"Metaspace\"", "\"Replace\"",
        "\"Prepend\"", "\"NFC\"", "\"NFKC\"", "\"Lowercase\"", "\"TemplateProcessing\"", "\"single\"", "\"special_tokens\"",
        "\"unk_token\"", "\"byte_fallback\"", "\"fuse_unk\"", "\"ignore_merges\"", "\"behavior\"", "\"Isolated\"", "\"id\"",
        "\"content\"", "\"special\"", "\"<0x41>\"", "\"\\u2581\"",
    ];

    public IEnumerable<byte[]> Seeds()
    {
        yield return File.ReadAllBytes(RepoFiles.Path("fixtures", "models", "base", "tokenizer.json"));
        yield return File.ReadAllBytes(RepoFiles.Path("fixtures", "models", "catalog-sku", "tokenizer.json"));
        yield return """
            {"version":"1.0","added_tokens":[{"id":0,"content":"[UNK]","special":true}],
             "normalizer":{"type":"Sequence","normalizers":[{"type":"NFC"},{"type":"Lowercase"}]},
             "pre_tokenizer":{"type":"Split","pattern":{"Regex":"\\s+"},"behavior":"Removed","invert":false},
             "model":{"type":"WordLevel","vocab":{"[UNK]":0,"hello":1,"world!":2},"unk_token":"[UNK]"},
             "post_processor":null,"decoder":null}
            """u8.ToArray();
    }

    public string Run(byte[] input)
    {
        File.WriteAllBytes(_folder.File(TokenizerLoader.FileName), input);
        var tokenizer = TokenizerLoader.Load(_folder.Path);
        var ids = tokenizer.Encode(Sample);
        var text = tokenizer.Decode(ids);
        return $"added {Math.Min(tokenizer.AddedTokens.Count, 3)} ids {Math.Min(ids.Count / 8, 8)} " +
               $"roundtrip {text == Sample} bos {tokenizer.BosId is null}";
    }

    public void Dispose() => _folder.Dispose();
}
