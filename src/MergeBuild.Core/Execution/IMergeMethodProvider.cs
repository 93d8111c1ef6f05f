using MergeBuild.Methods;

namespace MergeBuild.Execution;

/// <summary>
/// Chooses the implementation a merge runs with, e.g. a GPU kernel in place of the CPU method. Whatever it returns
/// must write the same bytes as the CPU method: it changes where the arithmetic runs, never what it computes.
/// </summary>
public interface IMergeMethodProvider
{
    /// <summary>The method to run in place of <paramref name="cpuMethod"/>, or <paramref name="cpuMethod"/> itself.</summary>
    IMergeMethod Resolve(IMergeMethod cpuMethod);

    /// <summary>
    /// Adjusts the run's options for the method <see cref="Resolve"/> chose (a GPU wants whole windows per launch,
    /// not cache-sized chunks). The output does not depend on these options, so any choice is safe.
    /// </summary>
    MergeOptions Configure(IMergeMethod method, MergeOptions options) => options;
}
