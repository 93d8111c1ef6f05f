using System.Runtime.Intrinsics;
using MergeBuild.Methods.Kernels;

namespace MergeBuild.Core.Tests.Methods;

/// <summary>The register-folded lane minimum and maximum against LINQ over the same lanes.</summary>
public class LaneExtremesTests
{
    public static TheoryData<int> Seeds => [1, 2, 3, 4, 5, 6, 7, 8];

    [Theory]
    [MemberData(nameof(Seeds))]
    public void The_smallest_and_largest_lane_are_found_wherever_they_are(int seed)
    {
        var random = new Random(seed);
        for (var round = 0; round < 200; round++)
        {
            // Narrow ranges make ties, full ranges make extremes near 0 and uint.MaxValue.
            var span = round % 2 == 0 ? 8u : uint.MaxValue;
            var lanes = Enumerable.Range(0, 16).Select(_ => (uint)random.NextInt64(0, (long)span + 1)).ToArray();
            var wide = Vector512.Create(lanes);
            var narrow = Vector256.Create(lanes.AsSpan(0, 8));

            Assert.Equal(lanes.Min(), LaneExtremes.Min(wide));
            Assert.Equal(lanes.Max(), LaneExtremes.Max(wide));
            Assert.Equal(lanes[..8].Min(), LaneExtremes.Min(narrow));
            Assert.Equal(lanes[..8].Max(), LaneExtremes.Max(narrow));
        }
    }

    [Fact]
    public void A_single_extreme_lane_is_found_in_each_position()
    {
        for (var position = 0; position < 16; position++)
        {
            var lanes = Enumerable.Repeat(1000u, 16).ToArray();
            lanes[position] = 3;
            Assert.Equal(3u, LaneExtremes.Min(Vector512.Create(lanes)));
            lanes[position] = 5000;
            Assert.Equal(5000u, LaneExtremes.Max(Vector512.Create(lanes)));
        }
    }
}
