namespace MergeBuild.Eval.Tokenization;

/// <summary>
/// GPT-2's bytes_to_unicode: every byte gets a printable character so byte-level BPE can work on strings. The
/// printable Latin-1 bytes (33–126, 161–172, 174–255) stand for themselves; the other 68 take U+0100 onwards in byte
/// order (so a space is 'Ġ', U+0120, and a newline 'Ċ').
/// </summary>
internal static class ByteLevelAlphabet
{
    private static readonly char[] ByteToChar = Build();
    private static readonly Dictionary<char, byte> CharToByte =
        Enumerable.Range(0, 256).ToDictionary(b => ByteToChar[b], b => (byte)b);

    public static char Encode(byte value) => ByteToChar[value];

    /// <summary>The UTF-8 bytes of <paramref name="text"/> as alphabet characters.</summary>
    public static string Encode(string text)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(text);
        var chars = new char[bytes.Length];
        for (var i = 0; i < bytes.Length; i++)
        {
            chars[i] = ByteToChar[bytes[i]];
        }

        return new string(chars);
    }

    /// <summary>The byte a character stands for, or null for a character outside the alphabet.</summary>
    public static byte? Decode(char c) => CharToByte.TryGetValue(c, out var b) ? b : null;

    private static char[] Build()
    {
        var map = new char[256];
        var next = 256;
        for (var b = 0; b < 256; b++)
        {
            var printable = b is >= 33 and <= 126 or >= 161 and <= 172 or >= 174 and <= 255;
            map[b] = printable ? (char)b : (char)next++;
        }

        return map;
    }
}
