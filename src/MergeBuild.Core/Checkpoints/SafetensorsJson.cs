using System.Globalization;
using System.Text;

namespace MergeBuild.Checkpoints;

/// <summary>
/// Writes the JSON of safetensors headers and shard indexes byte for byte the way the reference tools do
/// (Rust safetensors for headers, Python's <c>json.dumps(indent=2, sort_keys=True)</c> for indexes), so the same
/// merge always produces the same files.
/// </summary>
internal static class SafetensorsJson
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>
    /// The complete header block: 8-byte little-endian length, compact JSON (<c>__metadata__</c> first with keys
    /// sorted, then the tensors in the given order), padded with spaces to a multiple of 8 bytes so the data
    /// section starts aligned.
    /// </summary>
    public static byte[] Header(IReadOnlyDictionary<string, string> metadata, IReadOnlyList<TensorInfo> tensors)
    {
        var json = new StringBuilder();
        json.Append('{');
        var first = true;
        if (metadata.Count > 0)
        {
            json.Append("\"__metadata__\":{");
            var firstKey = true;
            foreach (var (key, value) in metadata.OrderBy(e => e.Key, StringComparer.Ordinal))
            {
                json.Append(firstKey ? "" : ",");
                AppendString(json, key, asciiOnly: false);
                json.Append(':');
                AppendString(json, value, asciiOnly: false);
                firstKey = false;
            }

            json.Append('}');
            first = false;
        }

        foreach (var tensor in tensors)
        {
            json.Append(first ? "" : ",");
            AppendString(json, tensor.Name, asciiOnly: false);
            json.Append(":{\"dtype\":\"").Append(Tensors.DTypes.ToSafetensorsName(tensor.DType));
            json.Append("\",\"shape\":[").AppendJoin(',', tensor.Shape.Select(Invariant)).Append(']');
            json.Append(",\"data_offsets\":[").Append(Invariant(tensor.DataOffset)).Append(',');
            json.Append(Invariant(tensor.DataOffset + tensor.ByteLength)).Append("]}");
            first = false;
        }

        json.Append('}');
        var jsonBytes = Encode(json);
        var padded = (jsonBytes.Length + 7) / 8 * 8;
        var block = new byte[8 + padded];
        BitConverter.TryWriteBytes(block.AsSpan(0, 8), (ulong)padded);
        if (!BitConverter.IsLittleEndian)
        {
            block.AsSpan(0, 8).Reverse();
        }

        jsonBytes.CopyTo(block, 8);
        block.AsSpan(8 + jsonBytes.Length).Fill((byte)' ');
        return block;
    }

    /// <summary>
    /// <c>model.safetensors.index.json</c> as transformers writes it: 2-space indentation, keys sorted, non-ASCII
    /// escaped, trailing newline.
    /// </summary>
    public static byte[] Index(long totalSize, IEnumerable<KeyValuePair<string, string>> weightMap)
    {
        var json = new StringBuilder();
        json.Append("{\n  \"metadata\": {\n    \"total_size\": ").Append(Invariant(totalSize)).Append("\n  },\n");
        json.Append("  \"weight_map\": {");
        var first = true;
        foreach (var (tensor, file) in weightMap.OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            json.Append(first ? "\n    " : ",\n    ");
            AppendString(json, tensor, asciiOnly: true);
            json.Append(": ");
            AppendString(json, file, asciiOnly: true);
            first = false;
        }

        json.Append(first ? "}\n}\n" : "\n  }\n}\n");
        return Encode(json);
    }

    private static string Invariant(long value) => value.ToString(CultureInfo.InvariantCulture);

    private static byte[] Encode(StringBuilder json)
    {
        try
        {
            return StrictUtf8.GetBytes(json.ToString());
        }
        catch (EncoderFallbackException ex)
        {
            throw new ArgumentException("A tensor name or metadata string is not valid Unicode (lone surrogate).", ex);
        }
    }

    // JSON string escaping: quote, backslash and control characters always; everything else verbatim unless
    // asciiOnly, which escapes non-ASCII as \uXXXX (UTF-16 units) like Python's ensure_ascii.
    private static void AppendString(StringBuilder json, string value, bool asciiOnly)
    {
        json.Append('"');
        foreach (var c in value)
        {
            switch (c)
            {
                case '"': json.Append("\\\""); break;
                case '\\': json.Append("\\\\"); break;
                case '\n': json.Append("\\n"); break;
                case '\r': json.Append("\\r"); break;
                case '\t': json.Append("\\t"); break;
                case '\b': json.Append("\\b"); break;
                case '\f': json.Append("\\f"); break;
                default:
                    if (c < ' ' || (asciiOnly && c > '~'))
                    {
                        json.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    }
                    else
                    {
                        json.Append(c);
                    }

                    break;
            }
        }

        json.Append('"');
    }
}
