using System.Buffers.Binary;
using MergeBuild.Diagnostics;
using Microsoft.Win32.SafeHandles;

namespace MergeBuild.Checkpoints;

/// <summary>
/// The validated header of one safetensors file: an 8-byte little-endian length, that many bytes of JSON, then
/// the data section. Reading it touches only the header bytes, so a whole model validates in milliseconds.
/// </summary>
public sealed class SafetensorsHeader
{
    private readonly Dictionary<string, TensorInfo> _byName;

    private SafetensorsHeader(string path, long dataStart, long dataLength, SafetensorsHeaderParser.Result parsed)
    {
        Path = path;
        DataStart = dataStart;
        DataLength = dataLength;
        Metadata = parsed.Metadata;
        Tensors = parsed.Tensors;
        _byName = parsed.Tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
    }

    /// <summary>The full path of the file.</summary>
    public string Path { get; }

    /// <summary>Where the data section starts in the file: 8 + the header length.</summary>
    public long DataStart { get; }

    /// <summary>The size of the data section; the tensors cover exactly <c>[0, DataLength)</c>.</summary>
    public long DataLength { get; }

    /// <summary>The <c>__metadata__</c> strings, empty when the header has none.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Every tensor, ordered by <see cref="TensorInfo.DataOffset"/>.</summary>
    public IReadOnlyList<TensorInfo> Tensors { get; }

    /// <summary>The tensor called <paramref name="name"/>, or null.</summary>
    public TensorInfo? Find(string name) => _byName.GetValueOrDefault(name);

    /// <summary>
    /// Reads and validates the header of the file at <paramref name="path"/>. Throws
    /// <see cref="MergeBuildException"/>: MB1001 when the file does not exist, MB1003/MB1004 when it is malformed,
    /// MB1008 when it cannot be read.
    /// </summary>
    public static SafetensorsHeader Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var fullPath = System.IO.Path.GetFullPath(path);
        if (!File.Exists(fullPath))
        {
            throw new MergeBuildException(ErrorCodes.CheckpointNotFound, "The safetensors file does not exist.",
                new SourceLocation(fullPath), "Check the path.");
        }

        try
        {
            using var handle = File.OpenHandle(fullPath, FileMode.Open, FileAccess.Read, FileShare.Read);
            return Read(handle, fullPath);
        }
        catch (Exception ex) when (CheckpointErrors.IsIoFailure(ex))
        {
            throw CheckpointErrors.Io(fullPath, ex);
        }
    }

    /// <summary>Reads the header through an already open handle (the memory-mapped reader maps the same handle).</summary>
    internal static SafetensorsHeader Read(SafeFileHandle handle, string fullPath)
    {
        var fileLength = RandomAccess.GetLength(handle);
        if (fileLength < 8)
        {
            throw CheckpointErrors.Header(fullPath,
                $"the file is {fileLength} bytes long, too short for the 8-byte header length.");
        }

        Span<byte> prefix = stackalloc byte[8];
        ReadExactly(handle, prefix, 0, fullPath);
        var headerLength = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        if (headerLength > SafetensorsHeaderParser.MaxHeaderBytes)
        {
            throw CheckpointErrors.Header(fullPath,
                $"the header claims {headerLength} bytes, more than the {SafetensorsHeaderParser.MaxHeaderBytes} allowed.");
        }

        if ((long)headerLength > fileLength - 8)
        {
            throw CheckpointErrors.Header(fullPath,
                $"the header claims {headerLength} bytes but only {fileLength - 8} follow the length; " +
                "the file is truncated.");
        }

        var json = new byte[headerLength];
        ReadExactly(handle, json, 8, fullPath);
        var dataStart = 8 + (long)headerLength;
        var dataLength = fileLength - dataStart;
        var parsed = SafetensorsHeaderParser.Parse(json, dataLength, fullPath);
        return new SafetensorsHeader(fullPath, dataStart, dataLength, parsed);
    }

    private static void ReadExactly(SafeFileHandle handle, Span<byte> buffer, long offset, string path)
    {
        while (!buffer.IsEmpty)
        {
            var read = RandomAccess.Read(handle, buffer, offset);
            if (read == 0)
            {
                throw CheckpointErrors.Changed(path, "it became shorter while its header was read.");
            }

            buffer = buffer[read..];
            offset += read;
        }
    }
}
