using MergeBuild.Tensors;

namespace MergeBuild.Methods;

/// <summary>The dtype mergekit's random sparsifiers compute in.</summary>
internal static class WorkDType
{
    /// <summary>
    /// bf16 stays bf16; everything else works in float32, because torch.bernoulli has no float16 kernel on CPU
    /// (mergekit's CPU path, which is what it runs by default).
    /// </summary>
    public static DType ForRandom(DType dtype) => dtype == DType.BF16 ? DType.BF16 : DType.F32;
}
