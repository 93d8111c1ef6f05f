using MergeBuild.Methods.Kernels;
using MergeBuild.Tensors;

namespace MergeBuild.Core.Tests.Methods;

/// <summary>
/// The kernel that reads stored bf16 bits itself against the two steps it fuses, done separately and element by
/// element: decode (exact), multiply, round to the compute dtype, add. Random bit patterns cover NaNs (with payloads),
/// infinities, −0 and subnormals; odd lengths cover the scalar tail after the vectors.
/// </summary>
public class FusedKernelTests
{
    [Theory]
    [InlineData(DType.BF16, 1000, 0.3f)]
    [InlineData(DType.BF16, 33, -1.5f)]
    [InlineData(DType.F32, 1000, 0.3f)]
    [InlineData(DType.F32, 7, 2f)]
    public void Adding_scaled_stored_bf16_equals_decoding_then_adding_bit_for_bit(DType dtype, int length, float weight)
    {
        var random = new Random(length);
        var stored = new ushort[length];
        var start = new float[length];
        for (var i = 0; i < length; i++)
        {
            stored[i] = (ushort)random.Next(0, 1 << 16);
            start[i] = (float)(random.NextDouble() * 8 - 4);
        }

        var fused = (float[])start.Clone();
        Fused.AddScaledBf16(dtype, stored, weight, fused);

        for (var i = 0; i < length; i++)
        {
            var decoded = BitConverter.UInt32BitsToSingle((uint)stored[i] << 16);
            var product = decoded * weight;
            var rounded = dtype == DType.BF16 ? BFloat16.ToSingle(BFloat16.FromSingle(product)) : product;
            var expected = start[i] + rounded;
            if (float.IsNaN(expected))
            {
                Assert.True(float.IsNaN(fused[i]), $"element {i}: expected NaN, got {fused[i]}");
            }
            else
            {
                Assert.Equal(BitConverter.SingleToUInt32Bits(expected), BitConverter.SingleToUInt32Bits(fused[i]));
            }
        }
    }
}
