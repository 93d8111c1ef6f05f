using MergeBuild.Checkpoints;

namespace MergeBuild.Execution;

/// <summary>Options of one merge run that do not come from the recipe.</summary>
public sealed record MergeOptions
{
    /// <summary>The seed randomized methods use when none is given; recorded in every output's model card.</summary>
    public const ulong DefaultRandomSeed = 1234;

    /// <summary>mergekit's <c>--out-shard-size</c>, in bytes.</summary>
    public long MaxShardBytes { get; init; } = ShardSize.Default;

    /// <summary>Copy the donor's tokenizer files (mergekit's <c>--copy-tokenizer</c>, on by default).</summary>
    public bool CopyTokenizer { get; init; } = true;

    /// <summary>Worker threads; the output is byte-identical whatever the count.</summary>
    public int Threads { get; init; } = Environment.ProcessorCount;

    /// <summary>Seed for randomized methods (DARE, DELLA).</summary>
    public ulong RandomSeed { get; init; } = DefaultRandomSeed;

    /// <summary>Write <c>README.md</c> (model card) and <c>mergekit_config.yml</c>.</summary>
    public bool WriteModelCard { get; init; } = true;

    /// <summary>Elements per chunk handed to a method: small enough that every buffer stays in the L2 cache.</summary>
    public int ChunkElements { get; init; } = 1 << 14;

    /// <summary>Elements per window: the unit of reading ahead, releasing input pages and writing output.</summary>
    public int WindowElements { get; init; } = 1 << 20;

    /// <summary>
    /// Upper bound for the memory that methods needing whole tensors may hold at once; with it, peak memory grows with
    /// the largest tensor, never with the model. A single tensor larger than the budget still runs, alone.
    /// </summary>
    public long MemoryBudgetBytes { get; init; } = 1L << 30;

    /// <summary>
    /// Write the merged weights around the page cache where the OS and file system allow it (O_DIRECT on Linux; see
    /// <c>DirectWrites</c>): a 3 × 1 GB merge spends 0.5-1.5 s less CPU in the kernel on the test VM, and the inputs stay
    /// cached instead of being pushed out by output pages. Turn it off when the output is read right after the merge
    /// and would fit in the cache; intermediate merges of multi-document recipes are always written through the cache.
    /// </summary>
    public bool WriteAroundPageCache { get; init; } = true;

    /// <summary>
    /// The build's fingerprint of this merge, recorded in the output's marker so a later build can tell whether the
    /// folder holds this merge (see <see cref="OutputMarker"/>); null records none.
    /// </summary>
    public string? Fingerprint { get; init; }

    /// <summary>
    /// How input files are hashed for the check that they did not change during the merge (and for the model card);
    /// null reads every file. The CLI passes the content-hash memo it fingerprinted the merge with.
    /// </summary>
    public IFileHasher? InputHasher { get; init; }

    /// <summary>Supplies another implementation of the recipe's method (a GPU kernel); null runs the CPU method.</summary>
    public IMergeMethodProvider? MethodProvider { get; init; }
}
