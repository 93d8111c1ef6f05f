using MergeBuild.Eval.Inference;

namespace MergeBuild.Eval.Tests.Inference;

public class MatMulTests
{
    [Theory]
    [InlineData(1, 83, 128)]
    [InlineData(7, 40, 24)]
    [InlineData(70, 257, 33)]
    public void Products_match_a_double_reference_and_both_kernels_agree_bit_for_bit(int rows, int outFeatures, int inFeatures)
    {
        var random = new Random(rows * 1000 + outFeatures);
        float[] Random(int n) => [.. Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() * 2 - 1))];
        var weight = Random(outFeatures * inFeatures);
        var bias = Random(outFeatures);
        var x = Random(rows * inFeatures);
        var matrix = PackedMatrix.Pack(inFeatures, [(weight, bias)]);
        var wide = new float[rows * outFeatures];
        var portable = new float[rows * outFeatures];
        var threaded = new float[rows * outFeatures];

        MatMul.Multiply(x, rows, matrix, wide, maxThreads: 1);
        MatMul.Multiply(x, rows, matrix, portable, maxThreads: 1, portable: true);
        MatMul.Multiply(x, rows, matrix, threaded, maxThreads: 4);

        Assert.Equal(wide, portable);
        Assert.Equal(wide, threaded);
        for (var r = 0; r < rows; r++)
        {
            for (var o = 0; o < outFeatures; o++)
            {
                double expected = bias[o];
                for (var i = 0; i < inFeatures; i++)
                {
                    expected += (double)x[r * inFeatures + i] * weight[o * inFeatures + i];
                }

                Assert.Equal(expected, wide[r * outFeatures + o], 1e-4);
            }
        }
    }
}
