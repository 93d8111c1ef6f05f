using System.Buffers;
using System.Runtime.InteropServices;

namespace MergeBuild.Methods;

/// <summary>
/// A random keep mask carried from a sparsifier's statistics pass to its output pass, one bit per entry of the
/// tensor, so the output pass applies bits instead of drawing every entry again. The array comes from the shared
/// pool, cleared (<see cref="BitMask"/> sets bits by or-ing them in), and goes back once the output pass has applied
/// every entry.
/// </summary>
/// <remarks>
/// <para>Pooled: a fresh array per tensor and model is a large-object allocation whose pages are faulted in and zeroed
/// again for every tensor (an earlier attempt at keeping DARE's bits lost its gain to exactly that).</para>
/// <para>Pinned while in use, so the fused output pass can read the bits by address (<see cref="WordAddress"/>). A
/// merge that fails between the passes never gives them back: the finalizer then unpins them, so the array is
/// collected instead of staying pinned in a reused build node.</para>
/// </remarks>
internal sealed class KeepBits
{
    private readonly long count;
    private long applied;
    private GCHandle pin;

    /// <param name="count">The tensor's entries.</param>
    public KeepBits(long count)
    {
        this.count = count;
        var words = (int)((count + 63) / 64);
        Bits = ArrayPool<ulong>.Shared.Rent(words);
        Array.Clear(Bits, 0, words);
        pin = GCHandle.Alloc(Bits, GCHandleType.Pinned);
    }

    /// <summary>The bits (bit i = entry i); possibly longer than the tensor needs.</summary>
    public ulong[] Bits { get; private set; }

    /// <summary>Bytes the bits of a tensor of <paramref name="count"/> entries take.</summary>
    public static long BytesFor(long count) => (count + 63) / 64 * 8;

    /// <summary>
    /// The address of the 16-bit word whose lowest bit is entry <paramref name="at"/>, a multiple of 16 (little-endian
    /// machines: see <see cref="BitMask.Words"/>); valid until the last entry is applied.
    /// </summary>
    public nint WordAddress(long at) => pin.AddrOfPinnedObject() + (nint)(at >> 4) * sizeof(ushort);

    /// <summary>
    /// Counts <paramref name="entries"/> more entries as applied; the call that completes the tensor gives the bits
    /// back. Safe from several threads (the output pass may run a tensor's chunks in parallel): every chunk reads
    /// <see cref="Bits"/> before it counts itself, so none reads them after the last count.
    /// </summary>
    public void Applied(int entries)
    {
        if (Interlocked.Add(ref applied, entries) == count)
        {
            Release();
        }
    }

    /// <summary>Gives the bits back now (once every entry is applied, or when they will not be used); once.</summary>
    public void Release()
    {
        if (!pin.IsAllocated)
        {
            return;
        }

        var bits = Bits;
        Bits = [];
        pin.Free();
        ArrayPool<ulong>.Shared.Return(bits);
    }

    ~KeepBits()
    {
        if (pin.IsAllocated)
        {
            pin.Free();
        }
    }
}
