using System.Text.Json.Nodes;
using MergeBuild.Tests;
using MergeBuild.Tokenizers;

namespace MergeBuild.Core.Tests.Tokenizers;

public class TokenizerJsonTests
{
    private const string Bpe = """
        {
          "version": "1.0",
          "added_tokens": [
            {"id": 0, "content": "<s>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
            {"id": 6, "content": "<extra>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true}
          ],
          "model": {
            "type": "BPE",
            "vocab": {"<s>": 0, "a": 1, "b": 2, "ab": 3, "c": 4, "abc": 5},
            "merges": ["a b", ["ab", "c"]]
          }
        }
        """;

    private static TokenizerJson Load(TempFolder temp, string json)
    {
        File.WriteAllText(temp.Combine("tokenizer.json"), json);
        return TokenizerJson.Load(temp.Path, "model");
    }

    [Fact]
    public void Strip_removes_tokens_past_the_vocab_size_and_the_merges_that_make_them()
    {
        using var temp = new TempFolder();
        var tokenizer = Load(temp, Bpe);

        tokenizer.Strip(5);

        Assert.Equal(new Dictionary<string, int> { ["<s>"] = 0, ["a"] = 1, ["b"] = 2, ["ab"] = 3, ["c"] = 4 },
            tokenizer.Vocabulary.ToDictionary());
        var json = JsonNode.Parse(tokenizer.ToJson())!;
        // "ab c" produced abc (id 5): gone; "a b" produces ab (id 3): kept.
        Assert.Equal("[\"a b\"]", json["model"]!["merges"]!.ToJsonString());
        Assert.Single(json["added_tokens"]!.AsArray());
    }

    [Fact]
    public void Added_tokens_keep_their_flags_and_unchanged_parts_are_written_back()
    {
        using var temp = new TempFolder();
        var tokenizer = Load(temp, Bpe);

        tokenizer.AddToken("<new>", 7, new AddedTokenFlags(false, true, false, false, true));

        Assert.Equal(7, tokenizer.Vocabulary["<new>"]);
        Assert.Equal(new AddedTokenFlags(false, true, false, false, true), tokenizer.FlagsOf("<new>"));
        Assert.Null(tokenizer.FlagsOf("a"));
        var json = JsonNode.Parse(tokenizer.ToJson())!;
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(Bpe)!["model"], json["model"]));
    }

    [Fact]
    public void A_folder_without_tokenizer_json_is_a_clear_error()
    {
        using var temp = new TempFolder();
        var error = Assert.Throws<MergeBuild.Diagnostics.MergeBuildException>(() => TokenizerJson.Load(temp.Path, "my-model"));
        Assert.Equal(MergeBuild.Diagnostics.ErrorCodes.TokenizerUnsupported, error.Code);
        Assert.Contains("'my-model' has no tokenizer.json", error.Message, StringComparison.Ordinal);
    }
}
