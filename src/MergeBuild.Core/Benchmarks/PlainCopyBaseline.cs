using System.Diagnostics;
using MergeBuild.Checkpoints;

namespace MergeBuild.Benchmarks;

/// <summary>
/// The yardstick every merge is compared with: read every byte of the input checkpoints and write one checkpoint's
/// worth of bytes into a preallocated file, through the same memory-mapped reads, positional writes and write-behind
/// the engine uses, on the same threads, then flush it to disk. Nothing can merge faster than this moves the bytes.
/// </summary>
public static class PlainCopyBaseline
{
    /// <summary>Returns the wall time and the bytes moved (read + written).</summary>
    public static (TimeSpan Elapsed, long Bytes) Run(IReadOnlyList<string> modelFolders, string outputFile, int threads)
    {
        var readers = modelFolders.Select(CheckpointReader.Open).ToList();
        try
        {
            var tensors = readers[0].Files.Tensors;
            var outputBytes = tensors.Sum(t => t.ByteLength);
            const int window = 4 << 20;
            var items = tensors.SelectMany(t => Enumerable.Range(0, (int)((t.ByteLength + window - 1) / window))
                .Select(i => (Tensor: t, Offset: (long)i * window))).ToList();
            var offsets = new Dictionary<string, long>();
            long position = 0;
            foreach (var tensor in tensors)
            {
                offsets[tensor.Name] = position;
                position += tensor.ByteLength;
            }

            var stopwatch = Stopwatch.StartNew();
            using (var output = File.OpenHandle(outputFile, FileMode.Create, FileAccess.Write, FileShare.None,
                       FileOptions.None, outputBytes))
            {
                Parallel.ForEach(items, new ParallelOptions { MaxDegreeOfParallelism = threads },
                    () => new byte[window],
                    (item, _, buffer) =>
                    {
                        var length = (int)Math.Min(window, item.Tensor.ByteLength - item.Offset);
                        foreach (var reader in readers)
                        {
                            reader.GetBytes(item.Tensor.Name, item.Offset, length).CopyTo(buffer);
                        }

                        var position = offsets[item.Tensor.Name] + item.Offset;
                        RandomAccess.Write(output, buffer.AsSpan(0, length), position);
                        WriteBehind.Start(output, position, length);
                        return buffer;
                    },
                    _ => { });
                RandomAccess.FlushToDisk(output);
            }

            stopwatch.Stop();
            var read = readers.Sum(r => r.Files.TotalBytes);
            return (stopwatch.Elapsed, read + outputBytes);
        }
        finally
        {
            foreach (var reader in readers)
            {
                reader.Dispose();
            }

            File.Delete(outputFile);
        }
    }
}
