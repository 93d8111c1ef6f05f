using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace MergeBuild.Eval.Inference;

/// <summary>
/// y = x·Wᵀ (+ b) for a batch of rows x [rows, in] and a <see cref="PackedMatrix"/> W [out, in].
/// <para>
/// Determinism: every output element is <c>acc = 0; for i in 0..in: acc = fma(x[i], W[o, i], acc)</c>, then
/// <c>acc + b[o]</c>, in that order, whichever kernel, vector width, thread or batch composition computes it. So the
/// logits of a sequence are bit-identical whether it is run alone, in a batch, token by token with the KV cache or
/// all at once, on one thread or many.
/// </para>
/// <para>
/// Work is split into items of up to 64 rows × 4 panels (64 output features) and spread over threads with
/// Parallel.For (over output features and row chunks) when the product is large enough to pay for it.
/// </para>
/// <para>
/// The kernels (like the engine's other hot loops) are compiled fully optimized on first use
/// (AggressiveOptimization): under tiered compilation with dynamic PGO they spent the first seconds of a process in
/// instrumented code several times slower, which is most of a short evaluation.
/// </para>
/// </summary>
internal static class MatMul
{
    private const int Width = PackedMatrix.PanelWidth;
    private const int RowsPerItem = 64;
    private const int PanelsPerItem = 4;

    // Below this many multiply-adds a parallel loop costs more than it saves (measured on the fixture models).
    private const long ParallelThreshold = 1L << 19;

    /// <summary>
    /// Computes y [rows, out] from x [rows, in]. <paramref name="portable"/> forces the 256-bit kernel that machines
    /// without AVX-512 run (tests check both give identical bits).
    /// </summary>
    public static void Multiply(float[] x, int rows, PackedMatrix w, float[] y, int maxThreads, bool portable = false)
    {
        var inDim = w.InFeatures;
        var rowItems = (rows + RowsPerItem - 1) / RowsPerItem;
        var panelItems = (w.PanelCount + PanelsPerItem - 1) / PanelsPerItem;
        var items = rowItems * panelItems;
        var work = (long)rows * inDim * w.PanelCount * Width;
        var use512 = Vector512.IsHardwareAccelerated && !portable;

        // Item k covers panel group k / rowItems and row chunk k % rowItems: consecutive items share weights,
        // and Parallel.For hands out consecutive ranges, so a thread keeps its panels in L1.
        void Run(int item)
        {
            var rowStart = item % rowItems * RowsPerItem;
            var rowEnd = Math.Min(rows, rowStart + RowsPerItem);
            var panelStart = item / rowItems * PanelsPerItem;
            var panelEnd = Math.Min(w.PanelCount, panelStart + PanelsPerItem);
            if (use512)
            {
                Item512(x, inDim, w, y, rowStart, rowEnd, panelStart, panelEnd);
            }
            else
            {
                Item256(x, inDim, w, y, rowStart, rowEnd, panelStart, panelEnd);
            }
        }

        if (maxThreads <= 1 || items == 1 || work < ParallelThreshold)
        {
            for (var item = 0; item < items; item++)
            {
                Run(item);
            }
        }
        else
        {
            Parallel.For(0, items, new ParallelOptions { MaxDegreeOfParallelism = maxThreads }, Run);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Item512(float[] x, int inDim, PackedMatrix w, float[] y, int rowStart, int rowEnd,
        int panelStart, int panelEnd)
    {
        var r = rowStart;
        for (; r + 4 <= rowEnd; r += 4)
        {
            var p = panelStart;
            for (; p + 2 <= panelEnd; p += 2)
            {
                Rows4Panels2(x, inDim, w, y, r, p);
            }

            for (; p < panelEnd; p++)
            {
                for (var k = 0; k < 4; k++)
                {
                    Rows1Panels1(x, inDim, w, y, r + k, p);
                }
            }
        }

        for (; r < rowEnd; r++)
        {
            var p = panelStart;
            for (; p + 4 <= panelEnd; p += 4)
            {
                Rows1Panels4(x, inDim, w, y, r, p);
            }

            for (; p < panelEnd; p++)
            {
                Rows1Panels1(x, inDim, w, y, r, p);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Item256(float[] x, int inDim, PackedMatrix w, float[] y, int rowStart, int rowEnd,
        int panelStart, int panelEnd)
    {
        for (var r = rowStart; r < rowEnd; r++)
        {
            for (var p = panelStart; p < panelEnd; p++)
            {
                Rows1Panels1Vector256(x, inDim, w, y, r, p);
            }
        }
    }

    // Eight independent accumulator chains (4 rows × 2 panels) hide the FMA latency; each weight vector loaded is
    // used four times.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Rows4Panels2(float[] x, int inDim, PackedMatrix w, float[] y, int row, int panel)
    {
        ref var x0 = ref x[row * inDim];
        ref var x1 = ref Unsafe.Add(ref x0, inDim);
        ref var x2 = ref Unsafe.Add(ref x1, inDim);
        ref var x3 = ref Unsafe.Add(ref x2, inDim);
        ref var wa = ref w.Panels[(long)panel * inDim * Width];
        ref var wb = ref Unsafe.Add(ref wa, inDim * Width);
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
        Vector512<float> b0 = default, b1 = default, b2 = default, b3 = default;
        for (var i = 0; i < inDim; i++)
        {
            var va = Vector512.LoadUnsafe(ref wa, (nuint)(i * Width));
            var vb = Vector512.LoadUnsafe(ref wb, (nuint)(i * Width));
            var s0 = Vector512.Create(Unsafe.Add(ref x0, i));
            var s1 = Vector512.Create(Unsafe.Add(ref x1, i));
            var s2 = Vector512.Create(Unsafe.Add(ref x2, i));
            var s3 = Vector512.Create(Unsafe.Add(ref x3, i));
            a0 = Vector512.FusedMultiplyAdd(s0, va, a0);
            b0 = Vector512.FusedMultiplyAdd(s0, vb, b0);
            a1 = Vector512.FusedMultiplyAdd(s1, va, a1);
            b1 = Vector512.FusedMultiplyAdd(s1, vb, b1);
            a2 = Vector512.FusedMultiplyAdd(s2, va, a2);
            b2 = Vector512.FusedMultiplyAdd(s2, vb, b2);
            a3 = Vector512.FusedMultiplyAdd(s3, va, a3);
            b3 = Vector512.FusedMultiplyAdd(s3, vb, b3);
        }

        Store(a0, w, y, row, panel);
        Store(b0, w, y, row, panel + 1);
        Store(a1, w, y, row + 1, panel);
        Store(b1, w, y, row + 1, panel + 1);
        Store(a2, w, y, row + 2, panel);
        Store(b2, w, y, row + 2, panel + 1);
        Store(a3, w, y, row + 3, panel);
        Store(b3, w, y, row + 3, panel + 1);
    }

    // One row (token-by-token decoding): four panels give four independent chains.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Rows1Panels4(float[] x, int inDim, PackedMatrix w, float[] y, int row, int panel)
    {
        ref var x0 = ref x[row * inDim];
        ref var w0 = ref w.Panels[(long)panel * inDim * Width];
        ref var w1 = ref Unsafe.Add(ref w0, inDim * Width);
        ref var w2 = ref Unsafe.Add(ref w1, inDim * Width);
        ref var w3 = ref Unsafe.Add(ref w2, inDim * Width);
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
        for (var i = 0; i < inDim; i++)
        {
            var s = Vector512.Create(Unsafe.Add(ref x0, i));
            var offset = (nuint)(i * Width);
            a0 = Vector512.FusedMultiplyAdd(s, Vector512.LoadUnsafe(ref w0, offset), a0);
            a1 = Vector512.FusedMultiplyAdd(s, Vector512.LoadUnsafe(ref w1, offset), a1);
            a2 = Vector512.FusedMultiplyAdd(s, Vector512.LoadUnsafe(ref w2, offset), a2);
            a3 = Vector512.FusedMultiplyAdd(s, Vector512.LoadUnsafe(ref w3, offset), a3);
        }

        Store(a0, w, y, row, panel);
        Store(a1, w, y, row, panel + 1);
        Store(a2, w, y, row, panel + 2);
        Store(a3, w, y, row, panel + 3);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Rows1Panels1(float[] x, int inDim, PackedMatrix w, float[] y, int row, int panel)
    {
        ref var x0 = ref x[row * inDim];
        ref var w0 = ref w.Panels[(long)panel * inDim * Width];
        Vector512<float> a0 = default;
        for (var i = 0; i < inDim; i++)
        {
            a0 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref x0, i)),
                Vector512.LoadUnsafe(ref w0, (nuint)(i * Width)), a0);
        }

        Store(a0, w, y, row, panel);
    }

    // The portable kernel: a panel is two 256-bit halves, each lane summed in the same order as above.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Rows1Panels1Vector256(float[] x, int inDim, PackedMatrix w, float[] y, int row, int panel)
    {
        ref var x0 = ref x[row * inDim];
        ref var w0 = ref w.Panels[(long)panel * inDim * Width];
        Vector256<float> lo = default, hi = default;
        for (var i = 0; i < inDim; i++)
        {
            var s = Vector256.Create(Unsafe.Add(ref x0, i));
            lo = Vector256.FusedMultiplyAdd(s, Vector256.LoadUnsafe(ref w0, (nuint)(i * Width)), lo);
            hi = Vector256.FusedMultiplyAdd(s, Vector256.LoadUnsafe(ref w0, (nuint)(i * Width + 8)), hi);
        }

        Store(Vector512.Create(lo, hi), w, y, row, panel);
    }

    // Inlined, and free of calls and stackalloc: a call after the loop makes the JIT keep the accumulators on the
    // stack inside it (every zmm register is caller-saved), which costs a third of the speed.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(Vector512<float> sum, PackedMatrix w, float[] y, int row, int panel)
    {
        var column = panel * Width;
        if (w.Bias is { } bias)
        {
            sum += Vector512.LoadUnsafe(ref bias[column]);
        }

        var outDim = w.OutFeatures;
        var valid = Math.Min(Width, outDim - column);
        if (valid == Width)
        {
            sum.StoreUnsafe(ref y[row * outDim + column]);
            return;
        }

        for (var lane = 0; lane < valid; lane++)
        {
            y[row * outDim + column + lane] = sum.GetElement(lane);
        }
    }
}
