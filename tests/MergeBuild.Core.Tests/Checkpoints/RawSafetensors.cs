using System.Buffers.Binary;
using System.Text;

namespace MergeBuild.Core.Tests.Checkpoints;

/// <summary>Writes safetensors files byte by byte, independently of the code under test, so tests can build bad ones.</summary>
internal static class RawSafetensors
{
    /// <summary>8-byte little-endian length of the (space-padded) JSON, the JSON, then the data.</summary>
    public static byte[] Build(string json, byte[] data, bool padToEight = true) => Build(Encoding.UTF8.GetBytes(json), data, padToEight);

    public static byte[] Build(byte[] json, byte[] data, bool padToEight = true)
    {
        var length = padToEight ? (json.Length + 7) / 8 * 8 : json.Length;
        var file = new byte[8 + length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(file, (ulong)length);
        json.CopyTo(file, 8);
        file.AsSpan(8 + json.Length, length - json.Length).Fill((byte)' ');
        data.CopyTo(file, 8 + length);
        return file;
    }

    /// <summary>A small valid header: two tensors tiling 16 bytes of data, plus metadata.</summary>
    public const string ValidJson =
        "{\"__metadata__\":{\"format\":\"pt\"}," +
        "\"alpha\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}," +
        "\"beta\":{\"dtype\":\"BF16\",\"shape\":[2,2],\"data_offsets\":[8,16]}}";

    public static byte[] ValidData() => [.. Enumerable.Range(1, 16).Select(i => (byte)i)];
}
