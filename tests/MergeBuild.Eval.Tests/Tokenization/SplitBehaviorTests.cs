using System.Text.RegularExpressions;
using MergeBuild.Eval.Tokenization;

namespace MergeBuild.Eval.Tests.Tokenization;

/// <summary>tokenizers' own examples for the Split pre-tokenizer's delimiter behaviours.</summary>
public class SplitBehaviorTests
{
    [Theory]
    [InlineData(SplitBehavior.Removed, new[] { "The", "final", "countdown" })]
    [InlineData(SplitBehavior.Isolated, new[] { "The", "-", "final", "-", "-", "countdown" })]
    [InlineData(SplitBehavior.MergedWithPrevious, new[] { "The-", "final-", "-", "countdown" })]
    [InlineData(SplitBehavior.MergedWithNext, new[] { "The", "-final", "-", "-countdown" })]
    [InlineData(SplitBehavior.Contiguous, new[] { "The", "-", "final", "--", "countdown" })]
    internal void Delimiters_are_handled_as_tokenizers_does(SplitBehavior behavior, string[] expected)
    {
        var output = new List<Piece>();

        new RegexPreTokenizer(new Regex("-"), behavior, invert: false).Split(new Piece("The-final--countdown", true), output);

        Assert.Equal(expected, output.Select(p => p.Text));
    }
}
