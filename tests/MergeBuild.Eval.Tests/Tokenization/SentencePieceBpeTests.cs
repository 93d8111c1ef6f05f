using MergeBuild.Tests;

namespace MergeBuild.Eval.Tests.Tokenization;

/// <summary>
/// SentencePiece-style BPE as Hugging Face converts Llama 2 and Mistral tokenizers: '▁' for spaces, a prepended '▁',
/// &lt;0xNN&gt; byte fallback for characters outside the vocabulary, fused unknowns. Ids worked out by hand.
/// </summary>
public class SentencePieceBpeTests
{
    private const string Model = """
          "model": {
            "type": "BPE", "unk_token": "<unk>", "byte_fallback": true, "fuse_unk": true, "ignore_merges": false,
            "vocab": {"<unk>": 0, "<s>": 1, "</s>": 2, "<0x0A>": 3, "<0xC3>": 4, "<0xA9>": 5, "▁": 6, "h": 7, "e": 8,
                      "l": 9, "o": 10, "▁h": 11, "ll": 12, "▁he": 13, "▁hell": 14, "▁hello": 15},
            "merges": ["▁ h", "l l", "▁h e", "▁he ll", "▁hell o"]
          },
          "added_tokens": [{"id": 0, "content": "<unk>", "special": true}, {"id": 1, "content": "<s>", "special": true},
                           {"id": 2, "content": "</s>", "special": true}],
          "post_processor": {"type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
            "pair": [], "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}}},
        """;

    private const string Llama2 = "{" + Model + """
          "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "Prepend", "prepend": "▁"}, {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]},
          "pre_tokenizer": null,
          "decoder": {"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": {"String": "▁"}, "content": " "}, {"type": "ByteFallback"}, {"type": "Fuse"},
            {"type": "Strip", "content": " ", "start": 1, "stop": 0}]}
        }
        """;

    private const string Mistral = "{" + Model + """
          "normalizer": null,
          "pre_tokenizer": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": false},
          "decoder": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": false}
        }
        """;

    [Fact]
    public void Llama2_style_prepends_a_space_marker_and_falls_back_to_bytes()
    {
        using var temp = new TempFolder();
        var tokenizer = TokenizerFiles.Load(temp, Llama2, """{"bos_token": "<s>", "eos_token": "</s>"}""");

        // "▁hello▁é": ▁ h → ▁h; l l → ll; ▁h e → ▁he; ▁he ll → ▁hell; ▁hell o → ▁hello; é → <0xC3> <0xA9>.
        var ids = tokenizer.Encode("hello é");

        Assert.Equal([1, 15, 6, 4, 5], ids);
        Assert.Equal("hello é", tokenizer.Decode(ids, skipSpecial: true));
        Assert.Equal((1, 2), (tokenizer.BosId, tokenizer.EosId));
    }

    [Fact]
    public void Characters_without_byte_tokens_become_one_fused_unknown()
    {
        using var temp = new TempFolder();
        var tokenizer = TokenizerFiles.Load(temp, Llama2);

        // "▁zz": the bytes 7A are not in the vocabulary, so both z fuse into one <unk>.
        Assert.Equal([6, 0], tokenizer.Encode("zz", addSpecial: false));
    }

    [Fact]
    public void Mistral_style_metaspace_prepends_only_at_the_start_of_the_input()
    {
        using var temp = new TempFolder();
        var tokenizer = TokenizerFiles.Load(temp, Mistral);

        // "hello" at the start → ▁hello; after the added <s> no ▁ is prepended: h e ll o.
        var ids = tokenizer.Encode("hello<s>hello");

        Assert.Equal([1, 15, 1, 7, 8, 12, 10], ids);
        Assert.Equal("hellohello", tokenizer.Decode(ids, skipSpecial: true));
    }
}
