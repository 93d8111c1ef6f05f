using System.Text;

namespace MergeBuild.Fuzzing;

/// <summary>
/// Seeded mutations of a text or binary input: bit flips, byte edits, range deletes/duplicates, splices with other
/// corpus entries, boundary-number substitutions, deep nesting, wrong-typed values and dictionary tokens. Every
/// choice comes from the one <see cref="Random"/> so a run is reproducible from its seed.
/// </summary>
public sealed class Mutator(Random random, IReadOnlyList<string> dictionary, Func<byte[]?> pickOther)
{
    // Numbers at the edges of the integer types the parsers use, plus floats and text that only look numeric.
    private static readonly string[] BoundaryNumbers =
    [
        "0", "-1", "1", "-0", "255", "256", "65535", "65536", "2147483647", "2147483648", "-2147483648",
        "-2147483649", "4294967295", "4294967296", "9007199254740993", "9223372036854775807",
        "9223372036854775808", "-9223372036854775808", "18446744073709551615", "18446744073709551616",
        "1e308", "1e309", "-1e309", "1.5", "0.5", "1e-400", "NaN", "Infinity", "-Infinity", "0x10", "1_000",
        "99999999999999999999999999999999999999999999",
    ];

    // JSON/YAML values of every type, to put where another type is expected.
    private static readonly string[] WrongTypes =
    [
        "null", "true", "false", "\"\"", "\"x\"", "{}", "[]", "[1]", "{\"a\":1}", "-1", "1.5", "1e999", "~", "!!binary AA==",
    ];

    private static readonly byte[] InterestingBytes =
        "\"{}[]:,\\\n\r\t -.e0&*!|>?#'%@`\u007f"u8.ToArray().Concat(new byte[] { 0, 0xC0, 0xED, 0xFF, 0x80 }).ToArray();

    /// <summary>Largest mutant produced; bigger ones are cut, so one input never costs more than a bounded time.</summary>
    public int MaxLength { get; init; } = 64 * 1024;

    public Random Random => random;

    /// <summary>One to four stacked mutations of <paramref name="input"/>.</summary>
    public byte[] Mutate(byte[] input)
    {
        var data = new List<byte>(input);
        var count = 1 + random.Next(random.Next(2) == 0 ? 1 : 4);
        for (var i = 0; i < count; i++)
        {
            MutateOnce(data);
        }

        if (data.Count > MaxLength)
        {
            data.RemoveRange(MaxLength, data.Count - MaxLength);
        }

        return [.. data];
    }

    private void MutateOnce(List<byte> data)
    {
        switch (random.Next(13))
        {
            case 0 when data.Count > 0:
                data[random.Next(data.Count)] ^= (byte)(1 << random.Next(8));
                break;
            case 1 when data.Count > 0:
                data[random.Next(data.Count)] = InterestingBytes[random.Next(InterestingBytes.Length)];
                break;
            case 2 when data.Count > 0:
                DeleteRange(data);
                break;
            case 3 when data.Count > 0:
                DuplicateRange(data);
                break;
            case 4:
                Splice(data);
                break;
            case 5:
            case 6:
                SubstituteNumber(data);
                break;
            case 7:
                Insert(data, Nesting());
                break;
            case 8:
                ReplaceValue(data);
                break;
            case 9:
            case 10:
                if (dictionary.Count > 0)
                {
                    Insert(data, dictionary[random.Next(dictionary.Count)]);
                }

                break;
            case 11 when data.Count >= 8:
                OverwriteInteger(data);
                break;
            default:
                Insert(data, ((char)random.Next(32, 127)).ToString());
                break;
        }
    }

    private int Position(List<byte> data) => data.Count == 0 ? 0 : random.Next(data.Count + 1);

    private int SmallLength() => random.Next(4) == 0 ? 1 + random.Next(256) : 1 + random.Next(8);

    private void DeleteRange(List<byte> data)
    {
        var start = random.Next(data.Count);
        data.RemoveRange(start, Math.Min(SmallLength(), data.Count - start));
    }

    // Copies a range next to itself: duplicate keys, entries and documents.
    private void DuplicateRange(List<byte> data)
    {
        var start = random.Next(data.Count);
        var length = Math.Min(random.Next(2) == 0 ? SmallLength() : 1 + random.Next(4096), data.Count - start);
        data.InsertRange(Position(data), data.GetRange(start, length));
    }

    private void Splice(List<byte> data)
    {
        var other = pickOther();
        if (other is null || other.Length == 0)
        {
            return;
        }

        var cut = Position(data);
        var from = random.Next(other.Length);
        data.RemoveRange(cut, data.Count - cut);
        data.AddRange(other.AsSpan(from).ToArray());
    }

    private void SubstituteNumber(List<byte> data)
    {
        var replacement = BoundaryNumbers[random.Next(BoundaryNumbers.Length)];
        var digits = FindDigitRun(data);
        if (digits is not { } run)
        {
            Insert(data, replacement);
            return;
        }

        data.RemoveRange(run.Start, run.Length);
        data.InsertRange(run.Start, Encoding.UTF8.GetBytes(replacement));
    }

    // A random run of digits (with its minus sign), found by scanning from a random start.
    private (int Start, int Length)? FindDigitRun(List<byte> data)
    {
        if (data.Count == 0)
        {
            return null;
        }

        var origin = random.Next(data.Count);
        for (var k = 0; k < data.Count; k++)
        {
            var i = (origin + k) % data.Count;
            if (!IsDigit(data[i]))
            {
                continue;
            }

            var start = i;
            while (start > 0 && IsDigit(data[start - 1]))
            {
                start--;
            }

            if (start > 0 && data[start - 1] == (byte)'-')
            {
                start--;
            }

            var end = i;
            while (end < data.Count && IsDigit(data[end]))
            {
                end++;
            }

            return (start, end - start);
        }

        return null;
    }

    private static bool IsDigit(byte b) => b is >= (byte)'0' and <= (byte)'9';

    private string Nesting()
    {
        int[] depths = [3, 9, 33, 65, 257, 1025, 20000];
        var depth = depths[random.Next(depths.Length)];
        return random.Next(5) switch
        {
            0 => new string('[', depth) + new string(']', depth),
            1 => string.Concat(Enumerable.Repeat("{\"a\":", depth)) + "1" + new string('}', depth),
            2 => new string('[', depth),
            3 => string.Concat(Enumerable.Range(0, depth).Select(d => "\n" + new string(' ', Math.Min(d, 200)) + "- ")),
            _ => AliasBomb(Math.Min(depth, 40)),
        };
    }

    // YAML anchors that each refer to the previous one twice: a walker that expands aliases does 2^depth work.
    private static string AliasBomb(int depth)
    {
        var text = new StringBuilder("\nbomb0: &a0 [x, x]\n");
        for (var i = 1; i < depth; i++)
        {
            text.Append("bomb").Append(i).Append(": &a").Append(i).Append(" [*a").Append(i - 1).Append(", *a").Append(i - 1).Append("]\n");
        }

        return text.ToString();
    }

    // Replaces the value after a ':' (a JSON or YAML mapping value) with a value of another type.
    private void ReplaceValue(List<byte> data)
    {
        var replacement = WrongTypes[random.Next(WrongTypes.Length)];
        var colon = data.Count == 0 ? -1 : data.IndexOf((byte)':', random.Next(data.Count));
        if (colon < 0)
        {
            Insert(data, replacement);
            return;
        }

        var start = colon + 1;
        while (start < data.Count && data[start] == (byte)' ')
        {
            start++;
        }

        var end = start;
        var nesting = 0;
        while (end < data.Count)
        {
            var b = data[end];
            if (b is (byte)'[' or (byte)'{')
            {
                nesting++;
            }
            else if (b is (byte)']' or (byte)'}')
            {
                if (nesting == 0)
                {
                    break;
                }

                nesting--;
            }
            else if (nesting == 0 && b is (byte)',' or (byte)'\n')
            {
                break;
            }

            end++;
        }

        data.RemoveRange(start, end - start);
        data.InsertRange(start, Encoding.UTF8.GetBytes(replacement));
    }

    // Little-endian 32/64-bit boundary values over binary fields such as the safetensors length prefix.
    private void OverwriteInteger(List<byte> data)
    {
        ulong[] values = [0, 1, 7, 8, 0x7F, 0xFF, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, 100_000_000, 100_000_001,
            0x7FFF_FFFF_FFFF_FFFF, 0x8000_0000_0000_0000, ulong.MaxValue, (ulong)data.Count, (ulong)data.Count - 8];
        var value = values[random.Next(values.Length)];
        var width = random.Next(2) == 0 ? 4 : 8;
        var at = random.Next(3) == 0 ? 0 : random.Next(data.Count - width + 1);
        for (var i = 0; i < width; i++)
        {
            data[at + i] = (byte)(value >> (8 * i));
        }
    }

    private void Insert(List<byte> data, string text) => data.InsertRange(Position(data), Encoding.UTF8.GetBytes(text));
}
