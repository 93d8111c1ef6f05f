using System.Text.Json;

namespace MergeBuild.Execution;

/// <summary>
/// The content of <see cref="AtomicOutputFolder.MarkerFileName"/>: the engine that wrote the output and, when the
/// caller knew it (a build passes it), the fingerprint the output was made for. A build compares that fingerprint
/// with its own rather than trusting file times, which cannot tell two merges racing into one folder apart.
/// </summary>
public static class OutputMarker
{
    public static string Render(string? fingerprint) =>
        fingerprint is null
            ? $"{{\"engine\": \"MergeBuild {EngineInfo.Version}\"}}\n"
            : $"{{\"engine\": \"MergeBuild {EngineInfo.Version}\", \"fingerprint\": {JsonSerializer.Serialize(fingerprint)}}}\n";

    /// <summary>
    /// Replaces the marker of a complete output folder (one restored from the cache) so that it records
    /// <paramref name="fingerprint"/>; written beside it and renamed, so a reader sees the old marker or the new one.
    /// </summary>
    public static void Write(string outputFolder, string fingerprint)
    {
        ArgumentNullException.ThrowIfNull(fingerprint);
        var path = Path.Combine(outputFolder, AtomicOutputFolder.MarkerFileName);
        var temporary = path + $".{Environment.ProcessId}.tmp";
        File.WriteAllText(temporary, Render(fingerprint));
        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>
    /// Marks a complete output folder as not a finished build (its gates failed, or an input changed under it): the
    /// files stay for inspection, the folder stays replaceable by the next merge (it still carries a marker), and
    /// since the recorded fingerprint matches no real one a build always rebuilds it.
    /// </summary>
    public static void Invalidate(string outputFolder, string reason) => Write(outputFolder, "not built: " + reason);

    /// <summary>The fingerprint recorded in the marker of <paramref name="outputFolder"/>, or null (none, unreadable).</summary>
    public static string? ReadFingerprint(string outputFolder)
    {
        try
        {
            var path = Path.Combine(outputFolder, AtomicOutputFolder.MarkerFileName);
            if (!File.Exists(path))
            {
                return null;
            }

            using var document = JsonDocument.Parse(File.ReadAllBytes(path));
            return document.RootElement.ValueKind == JsonValueKind.Object &&
                   document.RootElement.TryGetProperty("fingerprint", out var value) &&
                   value.ValueKind == JsonValueKind.String
                ? value.GetString()
                : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException)
        {
            return null;
        }
    }
}
