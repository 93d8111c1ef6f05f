using System.Diagnostics;
using MergeBuild.Diagnostics;
using MergeBuild.Eval.Tests.Tokenization;
using MergeBuild.Eval.Tokenization;
using MergeBuild.Tests;

namespace MergeBuild.Eval.Tests.Fuzzing;

/// <summary>tokenizer.json files that crashed or could hang the evaluator; each must be MB6003.</summary>
public sealed class HostileTokenizerTests
{
    private const string WordLevel = "\"model\": {\"type\": \"WordLevel\", \"vocab\": {\"a\": 0, \"[UNK]\": 1}, \"unk_token\": \"[UNK]\"}";

    [Fact]
    public void Invalid_UTF8_is_MB6003()
    {
        using var temp = new TempFolder();
        File.WriteAllBytes(temp.Combine("tokenizer.json"), [.. "{\"model\": {\"type\": \""u8, 0xC0, 0xAF, .. "\"}}"u8]);

        var error = Assert.Throws<MergeBuildException>(() => TokenizerLoader.Load(temp.Path));

        Assert.Equal(ErrorCodes.MalformedTokenizer, error.Code);
    }

    [Fact]
    public void A_template_item_that_is_not_an_object_is_MB6003()
    {
        using var temp = new TempFolder();

        var error = Assert.Throws<MergeBuildException>(() => TokenizerFiles.Load(temp,
            "{" + WordLevel + """, "post_processor": {"type": "TemplateProcessing", "single": [7], "special_tokens": {}}}"""));

        Assert.Equal(ErrorCodes.MalformedTokenizer, error.Code);
    }

    [Fact]
    public void A_catastrophically_backtracking_split_pattern_times_out_as_MB6003()
    {
        using var temp = new TempFolder();
        var tokenizer = TokenizerFiles.Load(temp,
            "{" + WordLevel + """, "pre_tokenizer": {"type": "Split", "pattern": {"Regex": "(a+)+$"}, "behavior": "Isolated", "invert": false}}""");

        // (a+)+$ on 40 a's and a mismatch explores 2^40 ways to split the run: without a time limit, hours.
        var clock = Stopwatch.StartNew();
        var error = Assert.Throws<MergeBuildException>(() => tokenizer.Encode(new string('a', 40) + "!"));

        Assert.Equal(ErrorCodes.MalformedTokenizer, error.Code);
        Assert.Contains("(a+)+$", error.Message, StringComparison.Ordinal);
        Assert.Equal(temp.Combine("tokenizer.json"), error.Location?.File);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"took {clock.Elapsed}");
    }
}
