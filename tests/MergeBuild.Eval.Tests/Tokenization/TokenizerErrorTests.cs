using MergeBuild.Diagnostics;
using MergeBuild.Eval.Tokenization;
using MergeBuild.Tests;

namespace MergeBuild.Eval.Tests.Tokenization;

public class TokenizerErrorTests
{
    [Fact]
    public void A_unigram_model_is_refused_with_a_clear_error()
    {
        using var temp = new TempFolder();

        var error = Assert.Throws<MergeBuildException>(() => TokenizerFiles.Load(temp,
            """{"model": {"type": "Unigram", "vocab": [["a", -1.0]], "unk_id": 0}}"""));

        Assert.Equal(ErrorCodes.UnsupportedTokenizer, error.Code);
        Assert.Contains("'Unigram'", error.Message, StringComparison.Ordinal);
        Assert.Contains("BPE, WordLevel", error.Hint, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unknown_pre_tokenizer_is_named()
    {
        using var temp = new TempFolder();

        var error = Assert.Throws<MergeBuildException>(() => TokenizerFiles.Load(temp,
            """{"pre_tokenizer": {"type": "BertPreTokenizer"}, "model": {"type": "WordLevel", "vocab": {}}}"""));

        Assert.Equal(ErrorCodes.UnsupportedTokenizer, error.Code);
        Assert.Contains("BertPreTokenizer", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_sentencepiece_model_file_alone_is_explained()
    {
        using var temp = new TempFolder();
        File.WriteAllBytes(temp.Combine("tokenizer.model"), [0]);

        var error = Assert.Throws<MergeBuildException>(() => TokenizerLoader.Load(temp.Path));

        Assert.Equal(ErrorCodes.UnsupportedTokenizer, error.Code);
        Assert.Contains("tokenizer.model", error.Hint, StringComparison.Ordinal);
    }

    [Fact]
    public void Invalid_json_is_a_malformed_tokenizer()
    {
        using var temp = new TempFolder();

        var error = Assert.Throws<MergeBuildException>(() => TokenizerFiles.Load(temp, "{\"model\": "));

        Assert.Equal(ErrorCodes.MalformedTokenizer, error.Code);
    }

    [Fact]
    public void A_merge_of_tokens_missing_from_the_vocabulary_is_malformed()
    {
        using var temp = new TempFolder();

        var error = Assert.Throws<MergeBuildException>(() => TokenizerFiles.Load(temp,
            """{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a b"]}}"""));

        Assert.Equal(ErrorCodes.MalformedTokenizer, error.Code);
        Assert.Contains("a b", error.Message, StringComparison.Ordinal);
    }
}
