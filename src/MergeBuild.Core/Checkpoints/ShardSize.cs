namespace MergeBuild.Checkpoints;

/// <summary>The output shard size limit (<c>--out-shard-size</c>, parsed by <see cref="Execution.DecimalSize"/>).</summary>
public static class ShardSize
{
    /// <summary>mergekit's default, "5B": five billion bytes.</summary>
    public const long Default = 5_000_000_000;
}
