using MergeBuild.Tests;

namespace MergeBuild.Eval.Tests.Tokenization;

/// <summary>
/// Byte-level BPE (GPT-2, Llama 3, Qwen2) on small tokenizer.json files whose ids are worked out by hand in the
/// comments: 'Ġ' is the byte-level space, 'Ã' '©' are the bytes C3 A9 of 'é'.
/// </summary>
public class ByteLevelBpeTests
{
    private const string Gpt2 = """
        {
          "added_tokens": [{"id": 20, "content": "<|endoftext|>", "special": true}],
          "normalizer": null,
          "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true},
          "post_processor": {"type": "ByteLevel", "trim_offsets": true},
          "decoder": {"type": "ByteLevel"},
          "model": {
            "type": "BPE", "unk_token": null,
            "vocab": {"h": 0, "e": 1, "l": 2, "o": 3, "Ġ": 4, "w": 5, "r": 6, "d": 7, "he": 8, "ll": 9, "hell": 10,
                      "hello": 11, "Ġw": 12, "or": 13, "Ġwor": 14, "ld": 15, "Ġworld": 16, "Ã": 17, "©": 18,
                      "Ã©": 19, "!": 21},
            "merges": ["h e", "l l", "he ll", "hell o", "Ġ w", "o r", "Ġw or", "l d", "Ġwor ld", ["Ã", "©"]]
          }
        }
        """;

    [Fact]
    public void Gpt2_style_splits_with_its_pattern_and_merges_by_rank()
    {
        using var temp = new TempFolder();
        var tokenizer = TokenizerFiles.Load(temp, Gpt2);

        // "hello" | " world" | "!": h e l l o → he → ll → hell → hello; Ġ w o r l d → Ġw → or → Ġwor → ld → Ġworld.
        var ids = tokenizer.Encode("hello world!");

        Assert.Equal([11, 16, 21], ids);
        Assert.Equal("hello world!", tokenizer.Decode(ids));
    }

    [Fact]
    public void Non_ascii_text_goes_through_its_utf8_bytes_and_added_tokens_are_split_out()
    {
        using var temp = new TempFolder();
        var tokenizer = TokenizerFiles.Load(temp, Gpt2);

        // h Ã © l l o: "l l" (rank 1) before "Ã ©" (rank 9); no merge joins h with Ã©.
        var ids = tokenizer.Encode("héllo<|endoftext|>");

        Assert.Equal([0, 19, 9, 3, 20], ids);
        Assert.Equal("héllo<|endoftext|>", tokenizer.Decode(ids));
        Assert.Equal("héllo", tokenizer.Decode(ids, skipSpecial: true));
    }

    private const string Llama3 = """
        {
          "added_tokens": [{"id": 100, "content": "<|begin_of_text|>", "special": true},
                           {"id": 101, "content": "<|end_of_text|>", "special": true}],
          "normalizer": null,
          "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"},
             "behavior": "Isolated", "invert": false},
            {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false}]},
          "post_processor": {"type": "Sequence", "processors": [
            {"type": "ByteLevel", "trim_offsets": false},
            {"type": "TemplateProcessing",
             "single": [{"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
             "pair": [],
             "special_tokens": {"<|begin_of_text|>": {"id": "<|begin_of_text|>", "ids": [100], "tokens": ["<|begin_of_text|>"]}}}]},
          "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
          "model": {
            "type": "BPE", "ignore_merges": IGNORE, "byte_fallback": false,
            "vocab": {"h": 0, "e": 1, "l": 2, "o": 3, "Ġ": 4, "he": 5, "ll": 6, "hello": 7,
                      "1": 10, "2": 11, "3": 12, "4": 13, "5": 14, "12": 15, "123": 16, "45": 17},
            "merges": [["h", "e"], ["l", "l"], ["1", "2"], ["12", "3"], ["4", "5"]]
          },
          "tokenizer_config_note": "ids 100/101 as in Llama 3"
        }
        """;

    [Fact]
    public void Llama3_style_splits_digits_in_threes_adds_bos_and_takes_whole_words_with_ignore_merges()
    {
        using var temp = new TempFolder();
        var tokenizer = TokenizerFiles.Load(temp, Llama3.Replace("IGNORE", "true", StringComparison.Ordinal),
            """{"bos_token": "<|begin_of_text|>", "eos_token": "<|end_of_text|>"}""");

        // Pieces "hello" " " "123" "45": "hello" is in the vocabulary (ignore_merges); 1 2 → 12 → 123; 4 5 → 45.
        var ids = tokenizer.Encode("hello 12345");

        Assert.Equal([100, 7, 4, 16, 17], ids);
        Assert.Equal("<|begin_of_text|>hello 12345", tokenizer.Decode(ids));
        Assert.Equal(100, tokenizer.BosId);
        Assert.Equal(101, tokenizer.EosId);
    }

    [Fact]
    public void Without_ignore_merges_a_vocabulary_word_is_still_built_by_merges()
    {
        using var temp = new TempFolder();
        var tokenizer = TokenizerFiles.Load(temp, Llama3.Replace("IGNORE", "false", StringComparison.Ordinal));

        // h e l l o → he, ll, o: no merge makes "hello" itself.
        Assert.Equal([5, 6, 3], tokenizer.Encode("hello", addSpecial: false));
    }
}
