namespace MergeBuild.Tests;

/// <summary>Paths to the repository's fixture checkpoints (copied from the shared fixtures into <c>fixtures/</c>).</summary>
public static class Fixtures
{
    private static readonly Lazy<string> RootFolder = new(FindRoot);

    /// <summary>The repository's <c>fixtures</c> folder.</summary>
    public static string Root => RootFolder.Value;

    public static string Model(string name) => Path.Combine(Root, "models", name);

    public static string ExpectedMerge(string row) => Path.Combine(Root, "expected", "merges", row);

    public static string Eval(string task) => Path.Combine(Root, "evals", task + ".jsonl");

    private static string FindRoot()
    {
        // Walk up from the test assembly until the folder holding fixtures/models is found.
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "fixtures");
            if (Directory.Exists(Path.Combine(candidate, "models")))
            {
                return candidate;
            }
        }

        throw new InvalidOperationException("fixtures/models not found above " + AppContext.BaseDirectory);
    }
}
