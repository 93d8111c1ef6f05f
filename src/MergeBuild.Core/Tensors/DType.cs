namespace MergeBuild.Tensors;

/// <summary>The element types a safetensors file can hold.</summary>
public enum DType
{
    F64,
    F32,
    F16,
    BF16,
    F8E4M3,
    F8E5M2,
    I64,
    I32,
    I16,
    I8,
    U64,
    U32,
    U16,
    U8,
    Bool,
}
