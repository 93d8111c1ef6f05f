using MergeBuild.Methods;
using MergeBuild.Methods.Kernels;

namespace MergeBuild.Core.Tests.Methods;

/// <summary>
/// The vector keep test of DARE's draws against the generator's own uniforms, at limits that land on the draws
/// themselves: there the upper halves the fast compare looks at are equal and only the lower halves decide.
/// </summary>
public class RandomKeepTests
{
    private const double TwoTo53 = 9007199254740992.0;

    [Theory]
    [InlineData(0L)]
    [InlineData(16L)]
    [InlineData(7L)]
    [InlineData(1_000_003L)]
    public void Each_lane_is_kept_exactly_when_its_draw_is_below_the_limit_even_at_the_draw_itself(long start)
    {
        var random = new CounterRandom(17, 2, "model.layers.5.mlp.down_proj.weight");
        // The 53-bit integer behind each lane's uniform, which is exactly n·2⁻⁵³.
        var draws = Enumerable.Range(0, 16).Select(j => (ulong)(random.Uniform(start + j) * TwoTo53)).ToArray();
        var limits = new List<ulong> { 0, 1, 1UL << 52, (1UL << 53) - 1, 1UL << 53 };
        foreach (var draw in draws)
        {
            // At, just under and just over the draw, and the edges of its block of 2²¹ (where the scaled limit's
            // lower half is zero).
            limits.AddRange([draw, draw - 1, draw + 1, draw >> 21 << 21, ((draw >> 21) + 1) << 21]);
        }

        foreach (var limit in limits)
        {
            var keep = RandomKeep.Keep16(RandomKeep.State512(random.Key, start), RandomKeep.DrawBound.Of(limit));

            for (var j = 0; j < 16; j++)
            {
                Assert.True(draws[j] < limit == (keep[j] == uint.MaxValue),
                    $"lane {j}: draw {draws[j]}, limit {limit}, lane bits {keep[j]:X8}");
                Assert.True(keep[j] is 0 or uint.MaxValue, $"lane {j} is {keep[j]:X8}, neither kept nor dropped");
            }
        }
    }

    [Fact]
    public void Applying_the_draws_at_a_limit_on_a_draw_keeps_the_values_whose_draws_are_below_it()
    {
        var random = new CounterRandom(4, 0, "model.embed_tokens.weight");
        const long start = 33;
        var draws = Enumerable.Range(0, 100).Select(j => (ulong)(random.Uniform(start + j) * TwoTo53)).ToArray();
        // On a draw its lane is dropped, one over it kept: either way decided by the lower halves.
        foreach (var limit in draws.Take(20).SelectMany(d => new[] { d, d + 1 }))
        {
            var values = Enumerable.Range(1, draws.Length).Select(v => (float)v).ToArray();

            RandomKeep.Apply(random, start, limit, values);

            Assert.Equal(draws.Select((d, j) => d < limit ? j + 1f : 0f), values);
        }
    }
}
