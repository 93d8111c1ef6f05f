using System.Buffers.Binary;
using System.Text;

namespace MergeBuild.Fuzzing.Targets;

/// <summary>
/// Builds small, valid safetensors files for seeds, written here from the format's specification (8-byte
/// little-endian header length, JSON header, tensors tiling the data section) rather than with the product's writer.
/// </summary>
public static class SafetensorsBytes
{
    public sealed record Tensor(string Name, string DType, long[] Shape, int ElementSize);

    public static byte[] Build(IReadOnlyList<Tensor> tensors, string? metadataJson = null)
    {
        var json = new StringBuilder("{");
        var parts = new List<string>();
        if (metadataJson is not null)
        {
            parts.Add($"\"__metadata__\":{metadataJson}");
        }

        long offset = 0;
        foreach (var t in tensors)
        {
            var bytes = t.Shape.Aggregate(1L, (a, b) => a * b) * t.ElementSize;
            parts.Add($"\"{t.Name}\":{{\"dtype\":\"{t.DType}\",\"shape\":[{string.Join(',', t.Shape)}],\"data_offsets\":[{offset},{offset + bytes}]}}");
            offset += bytes;
        }

        json.Append(string.Join(',', parts)).Append('}');
        while (json.Length % 8 != 0)
        {
            json.Append(' ');
        }

        var header = Encoding.UTF8.GetBytes(json.ToString());
        var file = new byte[8 + header.Length + offset];
        BinaryPrimitives.WriteUInt64LittleEndian(file, (ulong)header.Length);
        header.CopyTo(file, 8);
        for (var i = 8 + header.Length; i < file.Length; i++)
        {
            file[i] = (byte)(i * 37);
        }

        return file;
    }

    /// <summary>Splits a file into JSON header and data when its length prefix is plausible.</summary>
    public static bool TrySplit(byte[] file, out byte[] json, out byte[] data)
    {
        json = [];
        data = [];
        if (file.Length < 8)
        {
            return false;
        }

        var length = BinaryPrimitives.ReadUInt64LittleEndian(file);
        if (length > (ulong)(file.Length - 8))
        {
            return false;
        }

        json = file.AsSpan(8, (int)length).ToArray();
        data = file.AsSpan(8 + (int)length).ToArray();
        return true;
    }

    public static byte[] Join(byte[] json, byte[] data)
    {
        var file = new byte[8 + json.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(file, (ulong)json.Length);
        json.CopyTo(file, 8);
        data.CopyTo(file, 8 + json.Length);
        return file;
    }
}
