using MergeBuild.Checkpoints;
using MergeBuild.Tests;

namespace MergeBuild.Core.Tests.Checkpoints;

/// <summary>
/// The staging behind writes around the page cache: whatever the order, the threads, the rewrites and the blocks left
/// half written, the file must end up holding the last bytes written at every position.
/// </summary>
public class DirectWritesTests
{
    private const int Block = 4096;

    [Fact]
    public void Chunks_in_any_order_from_two_threads_land_where_they_were_written()
    {
        using var temp = new TempFolder();
        var expected = RandomBytes(10 * Block + 123, seed: 1);
        var order = new Random(2);
        var chunks = Chunks(expected.Length, seed: 2).OrderBy(_ => order.Next()).ToList();
        long direct;
        using (var file = Open(temp, expected.Length, out var buffered))
        using (buffered)
        {
            Parallel.ForEach(chunks, new ParallelOptions { MaxDegreeOfParallelism = 2 },
                c => file.Write(c.Start, expected.AsSpan((int)c.Start, c.Length)));
            file.Complete();
            direct = file.DirectBlocksWritten;
        }

        Assert.Equal(expected, File.ReadAllBytes(temp.Combine("out.bin")));
        Assert.Equal(10, direct); // every whole block; the 123-byte tail goes through the ordinary handle
    }

    [Fact]
    public void Bytes_written_again_win_whether_their_block_was_staged_or_already_written()
    {
        using var temp = new TempFolder();
        var expected = RandomBytes(3 * Block, seed: 3);
        using (var file = Open(temp, expected.Length, out var buffered))
        using (buffered)
        {
            file.Write(0, RandomBytes(Block, seed: 4)); // block 0 whole: it leaves at once
            file.Write(Block, RandomBytes(100, seed: 5)); // block 1 staged
            file.Write(Block, expected.AsSpan(Block, 100)); // ...and overwritten while staged
            file.Write(0, expected.AsSpan(0, Block)); // block 0 again, after it left
            file.Write(Block + 100, expected.AsSpan(Block + 100, 2 * Block - 100));
            file.Complete();
        }

        Assert.Equal(expected, File.ReadAllBytes(temp.Combine("out.bin")));
    }

    [Fact]
    public void Blocks_left_half_written_beyond_the_staging_limit_are_written_as_far_as_they_got()
    {
        const int blocks = DirectWrites.MaxStagedBlocks + 8;
        using var temp = new TempFolder();
        var expected = RandomBytes(blocks * Block, seed: 6);
        long direct;
        using (var file = Open(temp, expected.Length, out var buffered))
        using (buffered)
        {
            // The first half of every block (tensor boundaries waiting for their neighbours), then the second halves.
            for (var b = 0; b < blocks; b++)
            {
                file.Write(b * Block, expected.AsSpan(b * Block, Block / 2));
            }

            for (var b = 0; b < blocks; b++)
            {
                file.Write(b * Block + Block / 2, expected.AsSpan(b * Block + Block / 2, Block / 2));
            }

            file.Complete();
            direct = file.DirectBlocksWritten;
        }

        Assert.Equal(expected, File.ReadAllBytes(temp.Combine("out.bin")));
        // The 8 oldest were made room for (written in two halves through the cache); the rest went whole.
        Assert.Equal(DirectWrites.MaxStagedBlocks, direct);
    }

    [Fact]
    public void A_failed_block_write_is_raised_by_the_next_write_or_by_complete()
    {
        using var temp = new TempFolder();
        var path = temp.Combine("out.bin");
        using var buffered = File.OpenHandle(path, FileMode.Create, FileAccess.ReadWrite, FileShare.ReadWrite);
        RandomAccess.SetLength(buffered, 4 * Block);

        // A read-only handle in place of the direct one: every whole block's write fails.
        using var readOnly = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var file = DirectWrites.OverHandles(readOnly, buffered, 4 * Block, Block);
        file.Write(0, new byte[Block]);
        var failure = Record.Exception(() =>
        {
            // The writer thread may not have taken the block yet: later writes, or at the latest Complete, see it.
            for (var b = 1; b < 4; b++)
            {
                file.Write(b * Block, new byte[Block]);
            }

            file.Complete();
        });

        Assert.True(failure is IOException or UnauthorizedAccessException, $"got {failure?.GetType().Name ?? "nothing"}");
    }

    [Fact]
    public void On_a_disk_file_system_whole_blocks_are_written_with_O_DIRECT()
    {
        using var temp = new TempFolder();
        var path = temp.Combine("out.bin");
        var expected = RandomBytes(3 * DirectWrites.DefaultBlockBytes + 777, seed: 7);
        using var buffered = File.OpenHandle(path, FileMode.Create, FileAccess.ReadWrite, FileShare.Read);
        RandomAccess.SetLength(buffered, expected.Length);
        var file = DirectWrites.TryOpen(path, buffered, expected.Length);
        if (!SupportsDirectWrites(temp.Path))
        {
            // tmpfs and friends: the caller must fall back to writing through the cache.
            Assert.Null(file);
            return;
        }

        Assert.NotNull(file);
        using (file)
        {
            Parallel.ForEach(Chunks(expected.Length, seed: 8).Reverse(), new ParallelOptions { MaxDegreeOfParallelism = 2 },
                c => file.Write(c.Start, expected.AsSpan((int)c.Start, c.Length)));
            file.Complete();
            Assert.Equal(3, file.DirectBlocksWritten);
        }

        RandomAccess.FlushToDisk(buffered);
        buffered.Dispose();
        Assert.Equal(expected, File.ReadAllBytes(path));
    }

    [Fact]
    public void Files_smaller_than_a_block_are_left_to_the_page_cache()
    {
        using var temp = new TempFolder();
        var path = temp.Combine("small.bin");
        using var buffered = File.OpenHandle(path, FileMode.Create, FileAccess.ReadWrite, FileShare.Read);
        Assert.Null(DirectWrites.TryOpen(path, buffered, DirectWrites.DefaultBlockBytes - 1));
    }

    private static DirectWrites Open(TempFolder temp, long length, out Microsoft.Win32.SafeHandles.SafeFileHandle buffered)
    {
        var path = temp.Combine("out.bin");
        buffered = File.OpenHandle(path, FileMode.Create, FileAccess.ReadWrite, FileShare.ReadWrite);
        RandomAccess.SetLength(buffered, length);
        return DirectWrites.OverHandles(
            File.OpenHandle(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite), buffered, length, Block);
    }

    /// <summary>Consecutive pieces of 1 to 3000 bytes covering [0, length) once.</summary>
    private static IEnumerable<(long Start, int Length)> Chunks(long length, int seed)
    {
        var random = new Random(seed);
        for (long start = 0; start < length;)
        {
            var count = (int)Math.Min(length - start, random.Next(1, 3000));
            yield return (start, count);
            start += count;
        }
    }

    private static byte[] RandomBytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    /// <summary>Linux, on a file system known to take O_DIRECT (read from /proc/mounts, not from the code under test).</summary>
    private static bool SupportsDirectWrites(string folder)
    {
        if (!OperatingSystem.IsLinux() ||
            System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture is not
                (System.Runtime.InteropServices.Architecture.X64 or System.Runtime.InteropServices.Architecture.Arm64))
        {
            return false;
        }

        var mount = File.ReadAllLines("/proc/mounts")
            .Select(line => line.Split(' '))
            .Where(fields => fields.Length > 2 && (folder + "/").StartsWith(fields[1].TrimEnd('/') + "/", StringComparison.Ordinal))
            .MaxBy(fields => fields[1].Length);
        return mount is not null && mount[2] is "ext4" or "xfs" or "btrfs";
    }
}
