using System.Diagnostics;
using MergeBuild.Eval.Inference;
using MergeBuild.Eval.Tokenization;

namespace MergeBuild.Eval.Benchmarks;

/// <summary>
/// Tokens-per-second of greedy decoding on a model folder, independent of the mergebuild CLI: load the model, warm
/// the JIT, then time decoding one sequence and a batch (copies of the prompt, so its prefill is shared), single- and
/// multi-threaded, keeping the fastest of several runs of each.
/// </summary>
public static class EvalBenchmark
{
    public static EvalBenchmarkResult Run(string modelFolder, EvalBenchmarkOptions? options = null)
    {
        options ??= new EvalBenchmarkOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(options.NewTokens, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Repetitions, 1);
        var model = LlamaModel.Load(modelFolder);
        var prompt = TokenizerLoader.Load(modelFolder).Encode(options.Prompt).ToArray();
        // No stop tokens: every run generates exactly NewTokens per sequence.
        var decoder = new GreedyDecoder(model, [], options.NewTokens);
        var batch = Enumerable.Repeat(prompt, options.BatchSize).ToArray();

        var warmUp = Stopwatch.StartNew();
        do
        {
            decoder.GenerateBatch([prompt]);
            decoder.GenerateBatch(batch, batch.Length);
        }
        while (warmUp.Elapsed < options.WarmUp);

        // Let the background JIT install what the warm-up asked for.
        Thread.Sleep(options.WarmUp / 10);

        double Measure(int threads, int[][] prompts)
        {
            model.MaxThreads = threads;
            var best = double.MaxValue;
            var total = Stopwatch.StartNew();
            for (var i = 0; i < options.Repetitions || total.Elapsed < options.WarmUp / 2; i++)
            {
                var watch = Stopwatch.StartNew();
                decoder.GenerateBatch(prompts, prompts.Length);
                best = Math.Min(best, watch.Elapsed.TotalSeconds);
            }

            return prompts.Length * options.NewTokens / best;
        }

        return new EvalBenchmarkResult(
            Path.GetFileName(Path.TrimEndingDirectorySeparator(model.Folder)),
            prompt.Length,
            options.NewTokens,
            options.BatchSize,
            options.Threads,
            Measure(1, [prompt]),
            Measure(options.Threads, [prompt]),
            Measure(1, batch),
            Measure(options.Threads, batch));
    }
}
