using MergeBuild.Tensors;

namespace MergeBuild.Core.Tests.Tensors;

public class FloatCodecTests
{
    [Theory]
    // float8 e4m3fn: bias 7, 3 mantissa bits, no infinities.
    [InlineData(0x38, 1.0f)]
    [InlineData(0xB8, -1.0f)]
    [InlineData(0x7E, 448.0f)]
    [InlineData(0x01, 0.001953125f)] // smallest subnormal: 2^-9
    [InlineData(0x00, 0.0f)]
    public void E4M3_bytes_decode_to_their_values(byte bits, float expected)
    {
        Span<float> value = stackalloc float[1];
        FloatCodec.ToSingle(DType.F8E4M3, [bits], value);
        Assert.Equal(expected, value[0]);
    }

    [Theory]
    // float8 e5m2: bias 15, 2 mantissa bits, IEEE infinities.
    [InlineData(0x3C, 1.0f)]
    [InlineData(0x7B, 57344.0f)]
    [InlineData(0x7C, float.PositiveInfinity)]
    [InlineData(0x01, 1.52587890625e-05f)] // 2^-16
    public void E5M2_bytes_decode_to_their_values(byte bits, float expected)
    {
        Span<float> value = stackalloc float[1];
        FloatCodec.ToSingle(DType.F8E5M2, [bits], value);
        Assert.Equal(expected, value[0]);
    }

    [Fact]
    public void E4M3_nan_pattern_decodes_to_nan()
    {
        Span<float> value = stackalloc float[1];
        FloatCodec.ToSingle(DType.F8E4M3, [0x7F], value);
        Assert.True(float.IsNaN(value[0]));
    }

    [Fact]
    public void Float32_and_float64_round_trip()
    {
        float[] values = [1.5f, -2.25f, 3.0e-8f];
        var f64 = new byte[24];
        FloatCodec.FromSingle(DType.F64, values, f64);
        Assert.Equal(-2.25, BitConverter.ToDouble(f64, 8));
        var back = new float[3];
        FloatCodec.ToSingle(DType.F64, f64, back);
        Assert.Equal(values, back);
    }

    [Fact]
    public void Integer_tensors_cannot_be_decoded_as_floats()
    {
        var error = Assert.Throws<MergeBuild.Diagnostics.MergeBuildException>(
            () => FloatCodec.ToSingle(DType.I64, new byte[8], new float[1]));
        Assert.Equal(MergeBuild.Diagnostics.ErrorCodes.UnsupportedDType, error.Code);
    }
}
