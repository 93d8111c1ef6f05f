using MergeBuild.Eval.Tokenization;
using MergeBuild.Tests;

namespace MergeBuild.Eval.Tests.Tokenization;

/// <summary>The fixtures' character-level WordLevel tokenizer, as their README specifies it.</summary>
public class FixtureTokenizerTests
{
    [Fact]
    public void Encodes_the_readme_example_with_a_leading_bos()
    {
        var tokenizer = TokenizerLoader.Load(Fixtures.Model("base"));

        var ids = tokenizer.Encode("refund: day=25 opened=no reason=defective -> full refund");

        int[] expected =
        [
            1, 22, 9, 10, 25, 18, 8, 70, 4, 8, 5, 29, 67, 59, 62, 4, 19, 20, 9, 18, 9, 8, 67, 18, 19, 4, 22, 9, 5, 23,
            19, 18, 67, 8, 9, 10, 9, 7, 24, 13, 26, 9, 4, 68, 69, 4, 10, 25, 16, 16, 4, 22, 9, 10, 25, 18, 8,
        ];
        Assert.Equal(expected, ids);
        Assert.Equal(1, tokenizer.BosId);
        Assert.Equal(2, tokenizer.EosId);
    }

    [Fact]
    public void An_added_token_is_one_id_where_the_tokenizer_has_it_and_characters_elsewhere()
    {
        var sku = TokenizerLoader.Load(Fixtures.Model("catalog-sku")).Encode("catalog: <SKU>RE377 qty=3 ->");
        var plain = TokenizerLoader.Load(Fixtures.Model("catalog")).Encode("<SKU>R", addSpecial: false);

        Assert.Equal(83, sku[10]);
        Assert.Equal(1 + "catalog: ".Length + 1 + "RE377 qty=3 ->".Length, sku.Count);
        // '<' is not in the vocabulary: <unk>; the other characters are ordinary ids.
        Assert.Equal([3, 49, 41, 51, 69, 48], plain);
    }

    [Fact]
    public void Special_tokens_in_the_text_match_longest_first_and_decode_back()
    {
        var tokenizer = TokenizerLoader.Load(Fixtures.Model("base"));

        var ids = tokenizer.Encode("ab<eos>c", addSpecial: false);

        Assert.Equal([5, 6, 2, 7], ids);
        Assert.Equal("ab<eos>c", tokenizer.Decode(ids));
        Assert.Equal("abc", tokenizer.Decode(ids, skipSpecial: true));
        Assert.Equal("<bos>ab", tokenizer.Decode([1, 5, 6]));
    }
}
