using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace MergeBuild.Methods;

/// <summary>
/// One magnitude selection's state while a loop walks the tensor in index order, 16 or 8 lanes at a time: which lanes
/// of a vector of magnitude keys are selected (<see cref="TopKSelection"/>), counting the threshold-equal lanes as they
/// go. Held in locals (or on the stack) by the loops that mask: <see cref="TopKMask"/> and the fused consensus kernel.
/// </summary>
/// <remarks>
/// bf16 magnitudes are coarse, so a large tensor has many entries equal to the threshold, spread all through it:
/// whether a vector holds one is a coin flip the branch predictor loses. The loop therefore takes the equal lanes
/// without asking (<c>keys ≥ threshold</c>) while the whole vector's equal lanes still fit in <c>TakeEqual</c>,
/// splits lanes only in the one vector where they stop fitting, and afterwards takes none (<c>keys &gt; threshold</c>):
/// both tests stay predictable.
/// </remarks>
internal struct SelectionLanes
{
    private const int NoneMode = 0, AllMode = 1, TakingMode = 2, ExhaustedMode = 3;
    private readonly long takeEqual;
    private int mode;

    /// <param name="selection">The selection, or null for one that selects nothing.</param>
    public SelectionLanes(TopKSelection? selection)
    {
        takeEqual = selection?.TakeEqual ?? 0;
        Seen = selection?.Seen ?? 0;
        mode = selection is null || selection.None ? NoneMode
            : selection.All ? AllMode
            : Seen >= takeEqual ? ExhaustedMode : TakingMode;
    }

    private SelectionLanes(int mode) => this.mode = mode;

    /// <summary>Lanes that select every entry (a model used whole, with no sparsifier).</summary>
    public static SelectionLanes Everything => new(AllMode);

    /// <summary>False for a selection of nothing (no lane is ever a member).</summary>
    public readonly bool Selects => mode != NoneMode;

    /// <summary>Threshold-equal entries visited so far (no longer counted once none can be taken).</summary>
    public long Seen { get; private set; }

    /// <summary>The selected lanes (all bits set) of the next 16 keys in index order.</summary>
    /// <param name="keys">The magnitude keys (<c>bits &amp; 0x7FFFFFFF</c>).</param>
    /// <param name="threshold">The selection's threshold key in every lane.</param>
    /// <param name="lanes">Lane i holds 1 &lt;&lt; i.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector512<uint> Member(Vector512<uint> keys, Vector512<uint> threshold, Vector512<uint> lanes)
    {
        if (mode == ExhaustedMode)
        {
            return Vector512.GreaterThan(keys, threshold);
        }

        if (mode != TakingMode)
        {
            return mode == AllMode ? Vector512<uint>.AllBitsSet : Vector512<uint>.Zero;
        }

        var equal = Vector512.Equals(keys, threshold);
        var equalBits = (uint)equal.ExtractMostSignificantBits();
        var count = BitOperations.PopCount(equalBits);
        if (Seen + count <= takeEqual)
        {
            Seen += count;
            mode = Seen == takeEqual ? ExhaustedMode : TakingMode;
            return Vector512.GreaterThanOrEqual(keys, threshold);
        }

        var taken = Take(equalBits);
        return Vector512.GreaterThan(keys, threshold) | Vector512.Equals(Vector512.Create(taken) & lanes, lanes);
    }

    /// <inheritdoc cref="Member(Vector512{uint}, Vector512{uint}, Vector512{uint})"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector256<uint> Member(Vector256<uint> keys, Vector256<uint> threshold, Vector256<uint> lanes)
    {
        if (mode == ExhaustedMode)
        {
            return Vector256.GreaterThan(keys, threshold);
        }

        if (mode != TakingMode)
        {
            return mode == AllMode ? Vector256<uint>.AllBitsSet : Vector256<uint>.Zero;
        }

        var equal = Vector256.Equals(keys, threshold);
        var equalBits = equal.ExtractMostSignificantBits();
        var count = BitOperations.PopCount(equalBits);
        if (Seen + count <= takeEqual)
        {
            Seen += count;
            mode = Seen == takeEqual ? ExhaustedMode : TakingMode;
            return Vector256.GreaterThanOrEqual(keys, threshold);
        }

        var taken = Take(equalBits);
        return Vector256.GreaterThan(keys, threshold) | Vector256.Equals(Vector256.Create(taken) & lanes, lanes);
    }

    /// <summary>
    /// The vector where the equal lanes stop fitting: the lowest lanes that still fit (a bit mask, lowest lane
    /// first); none are taken after it.
    /// </summary>
    // Inlined although rare: a call in the loop makes the JIT spill every live vector around it on every
    // iteration (measured: the whole mask 4x slower).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private uint Take(uint equalBits)
    {
        var available = takeEqual - Seen;
        Seen += BitOperations.PopCount(equalBits);
        mode = ExhaustedMode;
        var taken = 0u;
        for (; available > 0; available--)
        {
            var lowest = equalBits & (uint)-(int)equalBits;
            taken |= lowest;
            equalBits ^= lowest;
        }

        return taken;
    }
}
