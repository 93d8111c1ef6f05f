namespace MergeBuild.Fuzzing;

/// <summary>
/// One parser under fuzzing. <see cref="Run"/> feeds an input to the real entry point the product uses; it may
/// return or throw a <see cref="MergeBuild.Diagnostics.MergeBuildException"/>, and any other exception is a bug.
/// </summary>
public interface IFuzzTarget : IDisposable
{
    /// <summary>The name used on the command line and as the corpus folder name.</summary>
    string Name { get; }

    /// <summary>Inputs the run starts from when the corpus folder is empty; valid files of the format.</summary>
    IEnumerable<byte[]> Seeds();

    /// <summary>Tokens of the format worth inserting (keys, type names, markers).</summary>
    IReadOnlyList<string> Dictionary { get; }

    /// <summary>
    /// Parses one input and returns a short signature of what was accepted (which fields, types or components), so
    /// accepted inputs that took different paths count as different outcomes. Must not keep state between calls.
    /// </summary>
    string Run(byte[] input);

    /// <summary>Makes one mutant; a target overrides it to keep a framing (e.g. a length prefix) consistent.</summary>
    byte[] Mutate(byte[] input, Mutator mutator) => mutator.Mutate(input);
}
