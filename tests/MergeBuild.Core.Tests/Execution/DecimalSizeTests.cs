using MergeBuild.Checkpoints;
using MergeBuild.Diagnostics;
using MergeBuild.Execution;

namespace MergeBuild.Core.Tests.Execution;

public class DecimalSizeTests
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
    public void Parses_mergekit_sizes(string text, long expected) =>
        Assert.Equal(expected, DecimalSize.Parse(text, "--out-shard-size"));

    [Fact]
    public void The_default_shard_size_is_five_billion_bytes() => Assert.Equal(5_000_000_000L, ShardSize.Default);

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
    public void Rejects_invalid_sizes_with_MB5001_naming_the_setting(string text)
    {
        var ex = Assert.Throws<MergeBuildException>(() => DecimalSize.Parse(text, "--cache-max-size"));
        Assert.Equal(ErrorCodes.InvalidOption, ex.Code);
        Assert.StartsWith($"Invalid --cache-max-size '{text}': ", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("2G", "2B")]
    [InlineData("2gb", "2B")]
    [InlineData("500MB", "500M")]
    [InlineData("64KB", "64k")]
    [InlineData("3T", "3000B")]
    [InlineData("1TB", "1000B")]
    [InlineData("2GiB", "2147483648 (bytes)")]
    [InlineData("512MiB", "536870912 (bytes)")]
    public void A_unit_of_another_convention_is_refused_with_the_size_to_write(string text, string instead)
    {
        var ex = Assert.Throws<MergeBuildException>(() => DecimalSize.Parse(text, "MERGEBUILD_CACHE_MAX_SIZE"));
        Assert.Equal($"Invalid MERGEBUILD_CACHE_MAX_SIZE '{text}': sizes here count thousands (k), millions (m) or " +
                     "billions (b) of bytes, as mergekit does.", ex.Message);
        Assert.Equal($"Write {instead}.", ex.Hint);
    }

    [Theory]
    [InlineData("2X")]
    [InlineData("G")]
    [InlineData("2PB")]
    [InlineData("99999999999999999T")]
    public void Other_suffixes_get_the_general_advice(string text)
    {
        var ex = Assert.Throws<MergeBuildException>(() => DecimalSize.Parse(text, "--size"));
        Assert.Equal($"Invalid --size '{text}': expected a whole number of bytes, optionally followed by k, m or b.",
            ex.Message);
        Assert.Equal("Use e.g. 5B (5,000,000,000 bytes), 500M or 1000000.", ex.Hint);
    }
}
