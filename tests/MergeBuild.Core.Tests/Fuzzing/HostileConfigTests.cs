using System.Text;
using MergeBuild.Diagnostics;
using MergeBuild.Models;

namespace MergeBuild.Core.Tests.Fuzzing;

/// <summary>config.json defects the fuzzer found, which escaped as InvalidOperationException/ArgumentException.</summary>
public sealed class HostileConfigTests
{
    [Fact]
    public void Invalid_UTF8_inside_a_string_is_MB1007()
    {
        byte[] json = [.. "{\"model_type\": \""u8, 0xFF, 0xFE, .. "\"}"u8];

        var error = Assert.Throws<MergeBuildException>(() => ModelConfig.Parse(json, "config.json"));

        Assert.Equal(ErrorCodes.MalformedConfig, error.Code);
        Assert.Contains("UTF-8", error.Message, StringComparison.Ordinal);
        Assert.Equal("config.json", error.Location?.File);
    }

    [Fact]
    public void A_duplicate_key_is_MB1007_not_an_ArgumentException_on_first_read()
    {
        var json = Encoding.UTF8.GetBytes("""{"vocab_size": 32000, "vocab_size": 64}""");

        var error = Assert.Throws<MergeBuildException>(() => ModelConfig.Parse(json, "config.json"));

        Assert.Equal(ErrorCodes.MalformedConfig, error.Code);
    }
}
