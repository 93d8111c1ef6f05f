using MergeBuild.Checkpoints;
using MergeBuild.Diagnostics;

namespace MergeBuild.Core.Tests.Checkpoints;

public class ShardSizeTests
{
    [Theory]
    [InlineData("5B", 5_000_000_000L)]
    [InlineData("5b", 5_000_000_000L)]
    [InlineData("500m", 500_000_000L)]
    [InlineData("500M", 500_000_000L)]
    [InlineData("1k", 1_000L)]
    [InlineData("1K", 1_000L)]
    [InlineData("123", 123L)]
    [InlineData("0010", 10L)]
    [InlineData("9223372036854775807", long.MaxValue)]
    public void Parses_mergekit_sizes(string text, long expected) => Assert.Equal(expected, ShardSize.Parse(text));

    [Fact]
    public void Default_is_five_billion_bytes() => Assert.Equal(5_000_000_000L, ShardSize.Default);

    [Theory]
    [InlineData("")]
    [InlineData("b")]
    [InlineData("5G")]
    [InlineData("5kb")]
    [InlineData("1.5b")]
    [InlineData("-5")]
    [InlineData("+5")]
    [InlineData(" 5")]
    [InlineData("5 ")]
    [InlineData("1_000")]
    [InlineData("0")]
    [InlineData("0k")]
    [InlineData("9999999999999999999")]
    [InlineData("99999999999b")]
    [InlineData("five")]
    public void Rejects_invalid_sizes_with_MB5001(string text)
    {
        var ex = Assert.Throws<MergeBuildException>(() => ShardSize.Parse(text));
        Assert.Equal(ErrorCodes.InvalidOption, ex.Code);
        Assert.Contains(text, ex.Message, StringComparison.Ordinal);
    }
}
