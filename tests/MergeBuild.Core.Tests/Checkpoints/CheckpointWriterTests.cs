using MergeBuild.Checkpoints;
using MergeBuild.Diagnostics;
using MergeBuild.Tensors;
using MergeBuild.Tests;

namespace MergeBuild.Core.Tests.Checkpoints;

public class CheckpointWriterTests
{
    private static CheckpointLayout TwoTensors() =>
        CheckpointLayout.Plan([new PlannedTensor("a", DType.F32, [4]), new PlannedTensor("b", DType.U8, [3])], 1000);

    [Fact]
    public void Complete_refuses_a_tensor_that_was_never_written()
    {
        using var temp = new TempFolder();
        using var writer = CheckpointWriter.Create(temp.Path, TwoTensors());
        writer.Write("a", 0, new byte[16]);
        var ex = Assert.Throws<MergeBuildException>(writer.Complete);
        Assert.Equal(ErrorCodes.OutputIo, ex.Code);
        Assert.Contains("'b'", ex.Message, StringComparison.Ordinal);
        Assert.Equal(temp.Combine("model.safetensors"), ex.Location!.File);
    }

    [Fact]
    public void Complete_refuses_a_partly_written_tensor_even_if_bytes_were_written_twice()
    {
        using var temp = new TempFolder();
        using var writer = CheckpointWriter.Create(temp.Path, TwoTensors());
        writer.Write("b", 0, new byte[3]);
        writer.Write("a", 0, new byte[8]);
        writer.Write("a", 0, new byte[8]); // 16 bytes written in all, but only the first 8 of the tensor
        var ex = Assert.Throws<MergeBuildException>(writer.Complete);
        Assert.Contains("'a'", ex.Message, StringComparison.Ordinal);

        writer.Write("a", 8, new byte[8]);
        writer.Complete();
        Assert.Throws<InvalidOperationException>(() => writer.Write("a", 0, new byte[1]));
    }

    [Fact]
    public void Writing_behind_ranges_in_across_and_beyond_the_file_never_changes_its_bytes_or_throws()
    {
        using var temp = new TempFolder();
        var path = temp.Combine("written.bin");
        var bytes = new byte[3 * 4096 + 5];
        new Random(7).NextBytes(bytes);
        using (var file = File.OpenHandle(path, FileMode.Create, FileAccess.ReadWrite))
        {
            RandomAccess.Write(file, bytes, 0);

            // Advisory: the writer hands every window to it, so no range may throw or change what is in the file.
            WriteBehind.Start(file, 0, bytes.Length);
            WriteBehind.Start(file, 4000, 200);
            WriteBehind.Start(file, bytes.Length - 3, 1 << 20);
            WriteBehind.Start(file, 1L << 40, 4096);
            WriteBehind.Start(file, 10, 0);
            RandomAccess.FlushToDisk(file);
        }

        Assert.Equal(bytes, File.ReadAllBytes(path));
    }

    [Fact]
    public void Out_of_bounds_and_unknown_writes_are_rejected()
    {
        using var temp = new TempFolder();
        using var writer = CheckpointWriter.Create(temp.Path, TwoTensors());
        Assert.Throws<ArgumentOutOfRangeException>(() => writer.Write("a", 10, new byte[8]));
        Assert.Throws<ArgumentOutOfRangeException>(() => writer.Write("a", -1, new byte[1]));
        Assert.Throws<ArgumentOutOfRangeException>(() => writer.Write("b", 0, new byte[4]));
        Assert.Throws<ArgumentException>(() => writer.Write("c", 0, new byte[1]));
    }

    [Fact]
    public void Files_are_pre_sized_with_their_header_before_data_is_written()
    {
        using var temp = new TempFolder();
        var layout = TwoTensors();
        // Smaller than a block, so written through the page cache: a file written around it (DirectWritesTests) gets its
        // header with its first whole block.
        using var writer = CheckpointWriter.Create(temp.Path, layout);
        var path = temp.Combine("model.safetensors");
        Assert.Equal(layout.Shards[0].FileLength, new FileInfo(path).Length);
        using (var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite))
        {
            var start = new byte[layout.Shards[0].HeaderBytes.Length];
            stream.ReadExactly(start);
            Assert.Equal(layout.Shards[0].HeaderBytes, start);
        }
    }

    [Fact]
    public void Concurrent_slices_complete_a_tensor()
    {
        using var temp = new TempFolder();
        var layout = CheckpointLayout.Plan([new PlannedTensor("w", DType.BF16, [1024, 64])], ShardSize.Default);
        var expected = new byte[1024 * 64 * 2];
        new Random(9).NextBytes(expected);
        using (var writer = CheckpointWriter.Create(temp.Path, layout))
        {
            Parallel.For(0, 1024, row => writer.Write("w", row * 128L, expected.AsSpan(row * 128, 128)));
            writer.Complete();
        }

        using var reader = CheckpointReader.Open(temp.Path);
        Assert.Equal(expected, reader.GetBytes("w", 0, expected.Length).ToArray());
    }

    [Fact]
    public void A_checkpoint_written_around_the_page_cache_has_the_bytes_of_one_written_through_it()
    {
        using var temp = new TempFolder();
        // 3 MB: big enough for whole blocks around the cache (where the file system allows), with a partial last one.
        var layout = CheckpointLayout.Plan(
            [new PlannedTensor("big", DType.BF16, [1_500_001]), new PlannedTensor("small", DType.F32, [3])], ShardSize.Default);
        var big = new byte[3_000_002];
        var small = new byte[12];
        new Random(11).NextBytes(big);
        new Random(12).NextBytes(small);
        foreach (var around in (bool[])[true, false])
        {
            using var writer = CheckpointWriter.Create(temp.Combine(around ? "around" : "through"), layout, around);
            // Backwards, in 64 KB slices from two threads, the small tensor last.
            var slices = Enumerable.Range(0, (big.Length + 65535) / 65536).Reverse().ToList();
            Parallel.ForEach(slices, new ParallelOptions { MaxDegreeOfParallelism = 2 }, i =>
            {
                var start = i * 65536;
                writer.Write("big", start, big.AsSpan(start, Math.Min(65536, big.Length - start)));
            });
            writer.Write("small", 0, small);
            writer.Complete();
        }

        var written = File.ReadAllBytes(temp.Combine("around", "model.safetensors"));
        Assert.Equal(File.ReadAllBytes(temp.Combine("through", "model.safetensors")), written);
        using var reader = CheckpointReader.Open(temp.Combine("around"));
        Assert.Equal(big, reader.GetBytes("big", 0, big.Length).ToArray());
        Assert.Equal(small, reader.GetBytes("small", 0, small.Length).ToArray());
    }

    [Fact]
    public void Planning_rejects_duplicates_and_reserved_names()
    {
        Assert.Throws<ArgumentException>(() => CheckpointLayout.Plan(
            [new PlannedTensor("a", DType.F32, [1]), new PlannedTensor("a", DType.F32, [1])], 100));
        Assert.Throws<ArgumentException>(() => CheckpointLayout.Plan([new PlannedTensor("__metadata__", DType.F32, [1])], 100));
        Assert.Throws<ArgumentOutOfRangeException>(() => CheckpointLayout.Plan([], 0));
    }
}
