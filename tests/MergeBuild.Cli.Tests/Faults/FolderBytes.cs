namespace MergeBuild.Cli.Tests.Faults;

/// <summary>Every file of a folder (relative name to bytes), to compare two outputs byte for byte.</summary>
internal static class FolderBytes
{
    public static SortedDictionary<string, byte[]> Read(string folder) =>
        new(Directory.GetFiles(folder, "*", SearchOption.AllDirectories)
                .ToDictionary(f => Path.GetRelativePath(folder, f), File.ReadAllBytes),
            StringComparer.Ordinal);

    public static bool Same(SortedDictionary<string, byte[]> a, SortedDictionary<string, byte[]> b) =>
        a.Keys.SequenceEqual(b.Keys) && a.All(e => e.Value.AsSpan().SequenceEqual(b[e.Key]));

    public static void AssertSame(SortedDictionary<string, byte[]> expected, string folder)
    {
        var actual = Read(folder);
        Assert.Equal(expected.Keys, actual.Keys);
        foreach (var (name, bytes) in expected)
        {
            Assert.True(bytes.AsSpan().SequenceEqual(actual[name]), $"{name} differs");
        }
    }
}
