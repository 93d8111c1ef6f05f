namespace MergeBuild.Fuzzing;

/// <summary>Files of this repository that seed the fuzzers (fixtures, example recipes) and the saved corpora.</summary>
public static class RepoFiles
{
    private static readonly Lazy<string> RootFolder = new(FindRoot);

    /// <summary>The folder holding <c>MergeBuild.sln</c>.</summary>
    public static string Root => RootFolder.Value;

    public static string Path(params string[] parts) => System.IO.Path.Combine([Root, .. parts]);

    /// <summary>The committed corpus folder of a target.</summary>
    public static string Corpus(string target) => Path("tests", "MergeBuild.Fuzz", "corpus", target);

    private static string FindRoot()
    {
        // Walk up from the running assembly (and then the current folder) to the repository root.
        foreach (var start in new[] { AppContext.BaseDirectory, Environment.CurrentDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(System.IO.Path.Combine(dir.FullName, "MergeBuild.sln")))
                {
                    return dir.FullName;
                }
            }
        }

        throw new InvalidOperationException("MergeBuild.sln not found above " + AppContext.BaseDirectory);
    }
}
