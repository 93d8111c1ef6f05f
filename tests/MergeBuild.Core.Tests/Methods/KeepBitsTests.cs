using MergeBuild.Methods;
using System.Runtime.Intrinsics;
using MergeBuild.Methods.Kernels;

namespace MergeBuild.Core.Tests.Methods;

/// <summary>Keep masks stored as bits: applying them at any offset, writing them from DARE's draws, and their pooling.</summary>
public class KeepBitsTests
{
    [Fact]
    public void Applying_bits_multiplies_each_value_by_its_own_bit_at_any_offset()
    {
        var random = new Random(11);
        var bits = Enumerable.Range(0, 8).Select(_ => (ulong)random.NextInt64() ^ ((ulong)random.NextInt64() << 40)).ToArray();
        // Offsets on and off 16-bit words, lengths with and without a partial word.
        foreach (var at in new long[] { 0, 16, 48, 5, 37, 63, 64, 200 })
        {
            foreach (var length in new[] { 0, 1, 15, 16, 17, 100, 512 - (int)at })
            {
                var values = Enumerable.Range(0, length).Select(i => i % 7 == 3 ? float.NaN : (i % 2 == 0 ? -1f : 1f) * (i + 1)).ToArray();
                var expected = values.Select((v, i) => v * (((bits[(at + i) >> 6] >> (int)((at + i) & 63)) & 1) != 0 ? 1f : 0f)).ToArray();

                BitMask.Apply(values, bits, at);

                Assert.Equal(expected.Select(BitConverter.SingleToUInt32Bits), values.Select(BitConverter.SingleToUInt32Bits));
            }
        }
    }

    [Fact]
    public void The_statistics_pass_writes_the_bits_of_the_draws_it_keeps()
    {
        var random = new CounterRandom(3, 1, "model.layers.0.mlp.up_proj.weight");
        var limit = RandomKeep.Limit(0.3);
        foreach (var (start, length) in new[] { (0L, 1000), (4096L, 16), (160L, 33) })
        {
            var values = Enumerable.Range(0, length).Select(i => (float)(i + 1)).ToArray();
            var words = new ushort[(length + 15) / 16];

            var sums = RandomKeep.AbsSums(random, start, limit, values, words);
            if (sums is null)
            {
                return; // no 512-bit vectors: the caller draws again instead
            }

            for (var i = 0; i < length; i++)
            {
                Assert.Equal(random.Uniform(start + i) < 0.3, ((words[i >> 4] >> (i & 15)) & 1) != 0);
            }
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void The_statistics_pass_from_stored_bits_sums_the_task_vector_and_its_kept_entries(bool bf16)
    {
        var random = new CounterRandom(9, 2, "model.layers.3.self_attn.o_proj.weight");
        var limit = RandomKeep.Limit(0.4);
        var data = new Random(bf16 ? 5 : 6);
        foreach (var (start, length) in new[] { (0L, 1000), (4096L, 16), (160L, 33), (32L, 7) })
        {
            var (inputs, baseValues) = StoredBits.Inputs(data, 1, length, randomBits: false);
            var deltas = Enumerable.Range(0, length)
                .Select(e => StoredBits.Round(bf16, StoredBits.Decode(inputs[0][e]) - StoredBits.Decode(baseValues[e])))
                .ToArray();
            var keep = Enumerable.Range(0, length).Select(i => random.Uniform(start + i) < 0.4).ToArray();
            var words = new ushort[(length + 15) / 16];

            var sums = RandomKeep.AbsSumsStored(random, start, limit, bf16, StoredBits.Addresses(inputs)[0],
                StoredBits.Addresses([baseValues])[0], length, words);

            Assert.Equal(Vector512.IsHardwareAccelerated, sums.HasValue);
            if (sums is not var (all, kept, minExponent, maxExponent))
            {
                continue; // no 512-bit vectors: the caller computes the task vector and observes it
            }

            // Small sums of values on a coarse grid: exact in double, so in any order.
            Assert.Equal(deltas.Sum(d => (double)Math.Abs(d)), all);
            Assert.Equal(deltas.Where((_, i) => keep[i]).Sum(d => (double)Math.Abs(d)), kept);
            var exponents = deltas.Select(d => (BitConverter.SingleToUInt32Bits(d) >> 23) & 0xFF).ToArray();
            Assert.Equal(exponents.Max(), maxExponent);
            Assert.Equal(exponents.Where((_, i) => deltas[i] != 0).DefaultIfEmpty(0xFFu).Min(), minExponent);
            for (var i = 0; i < length; i++)
            {
                Assert.Equal(keep[i], ((words[i >> 4] >> (i & 15)) & 1) != 0);
            }
        }
    }

    [Fact]
    public void Bits_are_read_by_address_from_any_16_bit_word()
    {
        var keep = new KeepBits(1000);
        keep.Bits[1] = 0x1234_5678_9ABC_DEF0;
        keep.Bits[2] = 0x0FED_CBA9_8765_4321;

        Assert.Equal(0x1234, ReadWord(keep.WordAddress(112)));
        Assert.Equal(0x4321, ReadWord(keep.WordAddress(128)));
        Assert.Equal(0xDEF0, ReadWord(keep.WordAddress(64)));
        keep.Applied(1000);
    }

    private static unsafe ushort ReadWord(nint address) => *(ushort*)address;

    [Fact]
    public void Bits_start_cleared_and_go_back_once_every_entry_is_applied()
    {
        var keep = new KeepBits(1000);
        Assert.All(keep.Bits.Take(16), word => Assert.Equal(0UL, word));
        Assert.Equal(128, KeepBits.BytesFor(1000));

        keep.Applied(600);
        Assert.NotEmpty(keep.Bits);
        keep.Applied(400);
        Assert.Empty(keep.Bits);

        // Bits that will not be used (DARE's, when some chunk's were missing) go back at once.
        var unused = new KeepBits(1000);
        unused.Applied(600);
        unused.Release();
        Assert.Empty(unused.Bits);
        unused.Release(); // a second release gives nothing back twice
    }

    [Fact]
    public void Bits_abandoned_by_a_failed_merge_are_unpinned_and_collected()
    {
        var bits = Abandoned();

        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();

        Assert.False(bits.IsAlive);
    }

    /// <summary>Bits taken and never released, as a merge leaves them when it fails between its passes.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static WeakReference Abandoned() => new(new KeepBits(1 << 20).Bits);
}
