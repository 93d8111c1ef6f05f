namespace MergeBuild.Methods;

/// <summary>
/// Drives a streaming merge over buffers that already hold a whole tensor, as one chunk: every statistics pass, then
/// the output. It is what <see cref="IMergeMethod.Merge"/> does for methods that stream (override
/// <see cref="IMergeMethod.Begin"/>), so a whole-tensor call and the executor's chunked passes run the same code.
/// </summary>
internal static class TensorMergeRunner
{
    public static void RunWhole(ITensorMerge state, MergeBuffers buffers, MergeChunk chunk)
    {
        for (var pass = 0; pass < state.StatisticsPasses; pass++)
        {
            state.Observe(pass, buffers, chunk);
            state.EndPass(pass);
        }

        state.Merge(buffers, chunk);
    }
}
