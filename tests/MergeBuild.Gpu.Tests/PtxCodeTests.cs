using System.Reflection;
using System.Text.RegularExpressions;
using ILGPU;
using ILGPU.Backends;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;
using MergeBuild.Gpu.Methods;

namespace MergeBuild.Gpu.Tests;

/// <summary>
/// Compiles each kernel's CUDA build to PTX with ILGPU's PTX backend (no GPU needed) and checks the floating-point
/// instructions: every f32 add/sub/mul/div carries an explicit <c>.rn</c> (so ptxas may not fuse a multiply and an
/// add into an FMA), and none flushes subnormals (<c>.ftz</c>) or approximates (<c>.approx</c>).
/// </summary>
public partial class PtxCodeTests
{
    public static TheoryData<string> Kernels => new()
    {
        nameof(GpuLinearMethod), nameof(GpuTaskArithmeticMethod), nameof(GpuPassthroughMethod),
        nameof(GpuNearswapMethod), nameof(GpuRamMethod),
    };

    [Theory]
    [MemberData(nameof(Kernels))]
    public void The_cuda_build_has_only_explicitly_rounded_float_arithmetic(string method)
    {
        var ptx = Compile(PtxBuild(method));
        var arithmetic = FloatInstruction().Matches(ptx).Select(m => m.Value).ToList();
        Assert.NotEmpty(arithmetic);
        Assert.All(arithmetic, instruction =>
        {
            Assert.Matches(@"^(add|sub|mul|div)\.rn\.f32$", instruction);
        });
        Assert.DoesNotContain(".ftz", ptx, StringComparison.Ordinal);
        Assert.DoesNotContain(".approx", ptx, StringComparison.Ordinal);
    }

    [Fact]
    public void Plain_csharp_operators_would_compile_to_contractible_instructions()
    {
        // The reason for the inline PTX: the operator build of the same kernel emits mul.f32/add.f32 without a
        // rounding modifier, which ptxas is free to contract into fma.
        var ptx = Compile(GpuLinearMethod.Kernel.Clr.Method);
        Assert.Contains("mul.f32", ptx, StringComparison.Ordinal);
        Assert.Contains("add.f32", ptx, StringComparison.Ordinal);
    }

    private static MethodInfo PtxBuild(string method) => method switch
    {
        nameof(GpuLinearMethod) => GpuLinearMethod.Kernel.Ptx.Method,
        nameof(GpuTaskArithmeticMethod) => GpuTaskArithmeticMethod.Kernel.Ptx.Method,
        nameof(GpuPassthroughMethod) => GpuPassthroughMethod.Kernel.Ptx.Method,
        nameof(GpuNearswapMethod) => GpuNearswapMethod.Kernel.Ptx.Method,
        _ => GpuRamMethod.Kernel.Ptx.Method,
    };

    private static string Compile(MethodInfo kernel)
    {
        using var context = Context.Create(builder => builder.Default());
        // sm_90 (H100/H200); PTX ISA 8.0 is the oldest that targets it.
        var backend = new PTXBackend(context, CudaArchitecture.SM_90, CudaInstructionSet.ISA_80, null!);
        var entry = EntryPointDescription.FromImplicitlyGroupedKernel(kernel);
        var compiled = (PTXCompiledKernel)backend.Compile(entry, default(KernelSpecialization));
        return compiled.PTXAssembly;
    }

    /// <summary>A floating-point arithmetic instruction: opcode, modifiers, an f16/f32/f64 type.</summary>
    [GeneratedRegex(@"\b(add|sub|mul|div|fma|mad|rcp|sqrt|rsqrt)(\.[a-z0-9]+)*\.f(16|32|64)\b")]
    private static partial Regex FloatInstruction();
}
