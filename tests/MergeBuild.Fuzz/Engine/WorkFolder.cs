namespace MergeBuild.Fuzzing;

/// <summary>A private temporary folder a file-based target writes its inputs into; deleted on dispose.</summary>
public sealed class WorkFolder : IDisposable
{
    public WorkFolder(string name)
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"mergebuild-fuzz-{name}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: the OS cleans the temp folder eventually.
        }
    }
}
