using MergeBuild.Gpu.Kernels;

namespace MergeBuild.Gpu.Tests;

/// <summary>
/// The NaN replacement the kernels apply after each operation: given the canonical NaN a GPU returns, it must
/// produce exactly the NaN the x86 CPU's own operation gives.
/// </summary>
public class IeeeTests
{
    private const uint GpuCanonicalNaN = 0x7FFF_FFFF;

    private static readonly float[] Operands =
    [
        Bits.Float(0x7FC0_0001), Bits.Float(0xFFC1_2345), Bits.Float(0x7F80_0001), Bits.Float(0xFF81_0000),
        float.PositiveInfinity, float.NegativeInfinity, 0f, -0f, 1.5f, -2f, float.Epsilon,
    ];

    public static TheoryData<string> Operations => new() { "add", "sub", "mul", "div" };

    [Theory]
    [MemberData(nameof(Operations))]
    public void A_nan_result_is_replaced_by_the_nan_x86_returns(string operation)
    {
        foreach (var a in Operands)
        {
            foreach (var b in Operands)
            {
                var cpu = Cpu(operation, a, b);
                if (!float.IsNaN(cpu))
                {
                    continue;
                }

                var fixedUp = Ieee.NaNLikeX86(Bits.Float(GpuCanonicalNaN), a, b);
                Assert.True(Bits.Of(cpu) == Bits.Of(fixedUp),
                    $"{Bits.Of(a):X8} {operation} {Bits.Of(b):X8}: x86 {Bits.Of(cpu):X8}, fixed-up {Bits.Of(fixedUp):X8}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Operations))]
    public void The_kernel_operations_equal_the_cpu_operations_bit_for_bit(string operation)
    {
        foreach (var a in Operands)
        {
            foreach (var b in Operands)
            {
                Assert.Equal(Bits.Of(Cpu(operation, a, b)), Bits.Of(Kernel(operation, a, b)));
            }
        }
    }

    [Fact]
    public void Abs_clears_only_the_sign_bit_as_math_abs_does()
    {
        foreach (var x in Operands)
        {
            Assert.Equal(Bits.Of(Math.Abs(x)), Bits.Of(Ieee.Abs(x)));
        }
    }

    private static float Cpu(string operation, float a, float b) => operation switch
    {
        "add" => a + b,
        "sub" => a - b,
        "mul" => a * b,
        _ => a / b,
    };

    private static float Kernel(string operation, float a, float b) => operation switch
    {
        "add" => Ieee.Add<ClrOps>(a, b),
        "sub" => Ieee.Sub<ClrOps>(a, b),
        "mul" => Ieee.Mul<ClrOps>(a, b),
        _ => Ieee.Div<ClrOps>(a, b),
    };
}
