using MergeBuild.Methods;
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
    }
}
