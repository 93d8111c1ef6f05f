namespace MergeBuild.Fuzzing;

/// <summary>How long and from where one fuzzing run goes.</summary>
public sealed record FuzzOptions
{
    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Stop after this many executions even if time is left (0: no limit).</summary>
    public long MaxExecs { get; init; }

    public int Seed { get; init; } = 1;

    /// <summary>Folder of the saved corpus, read at start and added to; null keeps the corpus in memory only.</summary>
    public string? CorpusFolder { get; init; }

    /// <summary>Folder for crashes, hangs, the in-flight input and the summary; null writes nothing.</summary>
    public string? ArtifactsFolder { get; init; }

    /// <summary>An input running longer than this is a hang.</summary>
    public TimeSpan HangTimeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Cap on saved corpus files so the committed corpus stays small.</summary>
    public int MaxCorpusFiles { get; init; } = 300;

    public long MaxCorpusBytes { get; init; } = 2 * 1024 * 1024;

    public int MaxInputLength { get; init; } = 64 * 1024;

    /// <summary>Progress lines go here (null: silent).</summary>
    public TextWriter? Log { get; init; }
}
