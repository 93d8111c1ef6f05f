using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace MergeBuild.Methods;

/// <summary>A keep mask stored as bits (bit i of the array = entry i), written from and applied as 1/0 factors.</summary>
internal static class BitMask
{
    /// <summary>Sets the bits at <paramref name="at"/>… where <paramref name="factors"/> is nonzero (the bits start cleared).</summary>
    // Its own JIT root: inlined into a large caller, the JIT would run out of budget to inline the vector helpers.
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void Write(ReadOnlySpan<float> factors, ulong[] bits, long at)
    {
        var i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i <= factors.Length - 16; i += 16)
            {
                var set = ~Vector512.Equals(Vector512.Create(factors.Slice(i, 16)), Vector512<float>.Zero);
                Or(bits, at + i, set.ExtractMostSignificantBits());
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            for (; i <= factors.Length - 8; i += 8)
            {
                var set = ~Vector256.Equals(Vector256.Create(factors.Slice(i, 8)), Vector256<float>.Zero);
                Or(bits, at + i, set.ExtractMostSignificantBits());
            }
        }

        for (; i < factors.Length; i++)
        {
            if (factors[i] != 0)
            {
                Or(bits, at + i, 1);
            }
        }
    }

    /// <summary><c>values[i] *= bit(at + i) ? 1 : 0</c> (a dropped −x becomes −0 and NaN stays NaN, as torch's mask product).</summary>
    // Its own JIT root: inlined into a large caller, the JIT would run out of budget to inline the vector helpers.
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void Apply(Span<float> values, ulong[] bits, long at)
    {
        var i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var lanes = Vector512.Create(1u, 2u, 4u, 8u, 16u, 32u, 64u, 128u, 256u, 512u, 1024u, 2048u, 4096u, 8192u, 16384u, 32768u);
            i = ApplyWords512(values, Words(bits, at), lanes);
            for (; i <= values.Length - 16; i += 16)
            {
                var word = Vector512.Create((uint)Read(bits, at + i, 16));
                var keep = Vector512.Equals(word & lanes, lanes).AsSingle();
                var slice = values.Slice(i, 16);
                (Vector512.Create(slice) * Vector512.ConditionalSelect(keep, Vector512<float>.One, Vector512<float>.Zero)).CopyTo(slice);
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            var lanes = Vector256.Create(1u, 2u, 4u, 8u, 16u, 32u, 64u, 128u);
            for (; i <= values.Length - 8; i += 8)
            {
                var word = Vector256.Create((uint)Read(bits, at + i, 8));
                var keep = Vector256.Equals(word & lanes, lanes).AsSingle();
                var slice = values.Slice(i, 8);
                (Vector256.Create(slice) * Vector256.ConditionalSelect(keep, Vector256<float>.One, Vector256<float>.Zero)).CopyTo(slice);
            }
        }

        for (; i < values.Length; i++)
        {
            values[i] *= (Read(bits, at + i, 1) & 1) != 0 ? 1f : 0f;
        }
    }

    /// <summary>
    /// <see cref="Apply"/>'s loop over whole 16-bit words (none when <paramref name="words"/> is empty): a word per 16
    /// values, read without a call in the loop (one would send <paramref name="lanes"/> to memory every iteration).
    /// </summary>
    /// <returns>How many values it did.</returns>
    private static int ApplyWords512(Span<float> values, ReadOnlySpan<ushort> words, Vector512<uint> lanes)
    {
        var whole = Math.Min(values.Length / 16, words.Length);
        ref var word = ref MemoryMarshal.GetReference(words);
        ref var value = ref MemoryMarshal.GetReference(values);
        for (var k = 0; k < whole; k++)
        {
            var keep = Vector512.Equals(Vector512.Create((uint)Unsafe.Add(ref word, k)) & lanes, lanes).AsSingle();
            var slice = Vector512.LoadUnsafe(ref value, (nuint)(16 * k));
            (slice * Vector512.ConditionalSelect(keep, Vector512<float>.One, Vector512<float>.Zero))
                .StoreUnsafe(ref value, (nuint)(16 * k));
        }

        return 16 * whole;
    }

    /// <summary>
    /// The bits from bit <paramref name="at"/> on as 16-bit words (word k = bits at + 16k …, lowest first) when
    /// <paramref name="at"/> is a multiple of 16, as chunk starts are; otherwise empty, and callers shift words
    /// together (<see cref="Read"/>, <see cref="Or"/>). (A 64-bit word's low 16 bits come first in memory only on
    /// little-endian machines.)
    /// </summary>
    public static Span<ushort> Words(ulong[]? bits, long at) =>
        bits is null || (at & 15) != 0 || !BitConverter.IsLittleEndian
            ? default
            : MemoryMarshal.Cast<ulong, ushort>(bits.AsSpan())[(int)(at >> 4)..];

    /// <summary>The <paramref name="count"/> (≤ 32) bits from bit <paramref name="at"/> on, lowest first.</summary>
    private static ulong Read(ulong[] bits, long at, int count)
    {
        var word = (int)(at >> 6);
        var offset = (int)(at & 63);
        var value = bits[word] >> offset;
        if (offset + count > 64)
        {
            value |= bits[word + 1] << (64 - offset);
        }

        return value & ((1UL << count) - 1);
    }

    /// <summary>Sets the bits of <paramref name="value"/> at bit <paramref name="at"/> on (the bits there start cleared).</summary>
    private static void Or(ulong[] bits, long at, ulong value)
    {
        var word = (int)(at >> 6);
        var offset = (int)(at & 63);
        bits[word] |= value << offset;
        if (offset != 0 && word + 1 < bits.Length)
        {
            bits[word + 1] |= value >> (64 - offset);
        }
    }
}
