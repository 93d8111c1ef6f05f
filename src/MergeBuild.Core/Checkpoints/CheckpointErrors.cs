using MergeBuild.Diagnostics;

namespace MergeBuild.Checkpoints;

/// <summary>
/// Builds the <see cref="MergeBuildException"/>s the checkpoint layer throws, so every message about a bad file
/// names the file the same way and ends with the same advice.
/// </summary>
internal static class CheckpointErrors
{
    private const string CorruptHint =
        "The file is damaged or was not written by a safetensors writer; re-download or re-save the model.";

    /// <summary>MB1003: the file as a whole (length prefix, JSON, <c>__metadata__</c>, data coverage) is bad.</summary>
    public static MergeBuildException Header(string path, string message, Exception? inner = null) =>
        new(ErrorCodes.MalformedSafetensorsHeader, $"Invalid safetensors header: {message}",
            new SourceLocation(path), CorruptHint, inner);

    /// <summary>MB1004: one tensor's entry is bad; the message names the tensor.</summary>
    public static MergeBuildException Entry(string path, string tensor, string message) =>
        new(ErrorCodes.InvalidTensorEntry, $"Invalid entry for tensor '{tensor}': {message}",
            new SourceLocation(path), CorruptHint);

    /// <summary>MB1005: a <c>model.safetensors.index.json</c> is bad or disagrees with its shards.</summary>
    public static MergeBuildException Index(string path, string message, Exception? inner = null) =>
        new(ErrorCodes.MalformedShardIndex, $"Invalid shard index: {message}", new SourceLocation(path),
            "Re-download the model, or re-save it so the index and its shards agree.", inner);

    /// <summary>MB1008: reading a checkpoint file failed at the operating-system level.</summary>
    public static MergeBuildException Io(string path, Exception inner) =>
        new(ErrorCodes.CheckpointIo, $"Could not read the checkpoint file: {inner.Message}",
            new SourceLocation(path), "Check that the file exists, is readable and is not being modified.", inner);

    /// <summary>MB1008 for a file that changed while it was being read.</summary>
    public static MergeBuildException Changed(string path, string message) =>
        new(ErrorCodes.CheckpointIo, $"The checkpoint file changed while being read: {message}",
            new SourceLocation(path), "Do not modify a model while MergeBuild reads it.");

    /// <summary>True for the exception types file access throws for ordinary I/O failures.</summary>
    public static bool IsIoFailure(Exception ex) => ex is IOException or UnauthorizedAccessException;
}
