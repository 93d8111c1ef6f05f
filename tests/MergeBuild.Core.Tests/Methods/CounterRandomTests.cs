using MergeBuild.Methods;

namespace MergeBuild.Core.Tests.Methods;

public class CounterRandomTests
{
    [Fact]
    public void Draws_follow_the_documented_formula()
    {
        // Written out independently from the fixture README's definition.
        const ulong seed = 1234;
        ulong hash = 0xCBF29CE484222325;
        foreach (var b in "1:lm_head.weight"u8)
        {
            hash = unchecked((hash ^ b) * 0x100000001B3);
        }

        ulong state = unchecked(seed + hash);
        ulong z = unchecked(state + 6 * 0x9E3779B97F4A7C15); // element j = 5
        z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9);
        z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EB);
        z ^= z >> 31;
        var expected = (z >> 11) / 9007199254740992.0;

        Assert.Equal(expected, new CounterRandom(seed, 1, "lm_head.weight").Uniform(5));
    }

    [Fact]
    public void Draws_depend_on_model_tensor_and_seed_and_are_uniform()
    {
        var a = new CounterRandom(1, 0, "x");
        Assert.NotEqual(a.Uniform(0), new CounterRandom(1, 1, "x").Uniform(0));
        Assert.NotEqual(a.Uniform(0), new CounterRandom(1, 0, "y").Uniform(0));
        Assert.NotEqual(a.Uniform(0), new CounterRandom(2, 0, "x").Uniform(0));
        var below = Enumerable.Range(0, 100_000).Count(i => a.Uniform(i) < 0.3);
        // Binomial(100000, 0.3): standard deviation ~145; 5 sigma is ~725.
        Assert.InRange(below, 30_000 - 725, 30_000 + 725);
    }
}
