using MergeBuild.Tensors;

namespace MergeBuild.Methods;

/// <summary>torch's type promotion for the floating-point dtypes checkpoints hold.</summary>
internal static class DTypePromotion
{
    /// <summary>The dtype torch.stack gives a list of tensors: equal dtypes stay, bf16 with f16 becomes f32, wider wins.</summary>
    public static DType Promote(IEnumerable<DType> dtypes)
    {
        DType? result = null;
        foreach (var dtype in dtypes)
        {
            result = result is null ? dtype : Promote(result.Value, dtype);
        }

        return result ?? DType.F32;
    }

    private static DType Promote(DType a, DType b)
    {
        if (a == b)
        {
            return a;
        }

        if (a == DType.F64 || b == DType.F64)
        {
            return DType.F64;
        }

        // bf16 and f16 have no common 16-bit type; any other mix of floats lands on float32.
        return DType.F32;
    }
}
