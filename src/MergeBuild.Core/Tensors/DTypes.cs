namespace MergeBuild.Tensors;

/// <summary>Facts about each <see cref="DType"/>: its size, its safetensors and torch names.</summary>
public static class DTypes
{
    /// <summary>Bytes per element.</summary>
    public static int SizeOf(DType dtype) => dtype switch
    {
        DType.F64 or DType.I64 or DType.U64 => 8,
        DType.F32 or DType.I32 or DType.U32 => 4,
        DType.F16 or DType.BF16 or DType.I16 or DType.U16 => 2,
        DType.F8E4M3 or DType.F8E5M2 or DType.I8 or DType.U8 or DType.Bool => 1,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, null),
    };

    /// <summary>True for floating-point types, the only ones merge methods compute with.</summary>
    public static bool IsFloatingPoint(DType dtype) =>
        dtype is DType.F64 or DType.F32 or DType.F16 or DType.BF16 or DType.F8E4M3 or DType.F8E5M2;

    /// <summary>The name used in a safetensors header (<c>BF16</c>, <c>F8_E4M3</c>, <c>BOOL</c>…).</summary>
    public static string ToSafetensorsName(DType dtype) => dtype switch
    {
        DType.F8E4M3 => "F8_E4M3",
        DType.F8E5M2 => "F8_E5M2",
        DType.Bool => "BOOL",
        _ => dtype.ToString(),
    };

    /// <summary>Parses a safetensors header dtype name; exact and case-sensitive as the format specifies.</summary>
    public static bool TryParseSafetensorsName(string name, out DType dtype)
    {
        switch (name)
        {
            case "F64": dtype = DType.F64; return true;
            case "F32": dtype = DType.F32; return true;
            case "F16": dtype = DType.F16; return true;
            case "BF16": dtype = DType.BF16; return true;
            case "F8_E4M3": dtype = DType.F8E4M3; return true;
            case "F8_E5M2": dtype = DType.F8E5M2; return true;
            case "I64": dtype = DType.I64; return true;
            case "I32": dtype = DType.I32; return true;
            case "I16": dtype = DType.I16; return true;
            case "I8": dtype = DType.I8; return true;
            case "U64": dtype = DType.U64; return true;
            case "U32": dtype = DType.U32; return true;
            case "U16": dtype = DType.U16; return true;
            case "U8": dtype = DType.U8; return true;
            case "BOOL": dtype = DType.Bool; return true;
            default: dtype = default; return false;
        }
    }

    /// <summary>
    /// Parses a recipe's <c>dtype</c>/<c>out_dtype</c> (torch names, optionally <c>torch.</c>-prefixed).
    /// mergekit accepts bfloat16, float16, float32 and int64; we accept their common aliases too.
    /// </summary>
    public static bool TryParseTorchName(string name, out DType dtype)
    {
        var bare = name.StartsWith("torch.", StringComparison.Ordinal) ? name["torch.".Length..] : name;
        switch (bare)
        {
            case "bfloat16" or "bf16": dtype = DType.BF16; return true;
            case "float16" or "half" or "fp16" or "f16": dtype = DType.F16; return true;
            case "float32" or "float" or "fp32" or "f32": dtype = DType.F32; return true;
            case "int64" or "long": dtype = DType.I64; return true;
            default: dtype = default; return false;
        }
    }

    /// <summary>The torch name written to <c>config.json</c>'s <c>torch_dtype</c>.</summary>
    public static string ToTorchName(DType dtype) => dtype switch
    {
        DType.F64 => "float64",
        DType.F32 => "float32",
        DType.F16 => "float16",
        DType.BF16 => "bfloat16",
        DType.F8E4M3 => "float8_e4m3fn",
        DType.F8E5M2 => "float8_e5m2",
        DType.I64 => "int64",
        DType.I32 => "int32",
        DType.I16 => "int16",
        DType.I8 => "int8",
        DType.U64 => "uint64",
        DType.U32 => "uint32",
        DType.U16 => "uint16",
        DType.U8 => "uint8",
        DType.Bool => "bool",
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, null),
    };
}
