using System.Diagnostics;
using MergeBuild.Checkpoints;

namespace MergeBuild.Benchmarks;

/// <summary>
/// The yardstick every merge is compared with: read every byte of the input checkpoints and write one checkpoint's
/// worth of bytes into a preallocated file, through the same memory-mapped reads, positional writes and write-behind
/// the engine uses (<see cref="OutputFile"/>), on the same threads, then flush it to disk. Nothing can merge faster than
/// this moves the bytes.
/// </summary>
public static class PlainCopyBaseline
{
    /// <summary>Returns the wall time and the bytes moved (read + written).</summary>
    /// <param name="modelFolders">The checkpoints to read.</param>
    /// <param name="outputFile">The file to write (deleted afterwards).</param>
    /// <param name="threads">Threads reading and writing.</param>
    /// <param name="aroundPageCache">Write as the engine does by default (false: through the page cache).</param>
    public static (TimeSpan Elapsed, long Bytes) Run(IReadOnlyList<string> modelFolders, string outputFile, int threads,
        bool aroundPageCache = true)
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
            using (var output = OutputFile.Create(outputFile, outputBytes, aroundPageCache))
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

                        output.Write(offsets[item.Tensor.Name] + item.Offset, buffer.AsSpan(0, length));
                        return buffer;
                    },
                    _ => { });
                output.Complete();
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
