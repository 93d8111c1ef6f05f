using MergeBuild.Tensors;

namespace MergeBuild.Core.Tests;

public class DTypesTests
{
    [Theory]
    [InlineData("BF16", DType.BF16, 2)]
    [InlineData("F8_E4M3", DType.F8E4M3, 1)]
    [InlineData("BOOL", DType.Bool, 1)]
    [InlineData("I64", DType.I64, 8)]
    public void Safetensors_names_round_trip(string name, DType expected, int size)
    {
        Assert.True(DTypes.TryParseSafetensorsName(name, out var dtype));
        Assert.Equal(expected, dtype);
        Assert.Equal(name, DTypes.ToSafetensorsName(dtype));
        Assert.Equal(size, DTypes.SizeOf(dtype));
    }

    [Theory]
    [InlineData("bf16")]
    [InlineData("Bf16")]
    [InlineData("float8")]
    [InlineData("")]
    public void Unknown_safetensors_names_are_rejected(string name) =>
        Assert.False(DTypes.TryParseSafetensorsName(name, out _));

    [Theory]
    [InlineData("bfloat16", DType.BF16)]
    [InlineData("torch.float16", DType.F16)]
    [InlineData("float32", DType.F32)]
    public void Torch_names_parse(string name, DType expected)
    {
        Assert.True(DTypes.TryParseTorchName(name, out var dtype));
        Assert.Equal(expected, dtype);
    }
}
