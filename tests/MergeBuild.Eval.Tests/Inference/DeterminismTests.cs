using MergeBuild.Eval.Inference;
using MergeBuild.Tests;

namespace MergeBuild.Eval.Tests.Inference;

/// <summary>
/// The engine computes every logit in a fixed order, so the way work is split (KV cache, batches, threads, kernel
/// width) changes no bit.
/// </summary>
public class DeterminismTests
{
    private static readonly Lazy<LlamaModel> Base = new(() => LlamaModel.Load(Fixtures.Model("base")));

    // "ship: carrier=ember zone=4 kg=5 ->" with <bos>, from the fixtures README's tokenization.
    private static readonly int[] Prompt =
    [
        1, 23, 12, 13, 20, 70, 4, 7, 5, 22, 22, 13, 9, 22, 67, 9, 17, 6, 9, 22, 4, 30, 19, 18, 9, 67, 61, 4, 15, 11, 67,
        62, 4, 68, 69,
    ];

    [Fact]
    public void Decoding_token_by_token_with_the_kv_cache_gives_the_same_logits_as_the_whole_sequence()
    {
        var model = LlamaModel.Load(Fixtures.Model("base"));
        var whole = model.ForwardLogits(Prompt);
        var session = model.CreateSession();

        for (var p = 0; p < Prompt.Length; p++)
        {
            Assert.Equal(whole[p], session.Append([Prompt[p]]));
        }

        Assert.Equal(Prompt.Length, session.Length);
    }

    [Fact]
    public void Logits_do_not_depend_on_the_thread_count()
    {
        var model = LlamaModel.Load(Fixtures.Model("base"));
        model.MaxThreads = 1;
        var one = model.ForwardLogits(Prompt);
        model.MaxThreads = 8;
        var many = model.ForwardLogits(Prompt);

        Assert.Equal(one, many);
    }

    [Fact]
    public void A_batch_decodes_each_prompt_exactly_as_alone()
    {
        var decoder = new GreedyDecoder(Base.Value, [2], maxNewTokens: 12);
        int[][] prompts = [Prompt, Prompt[..20], [1, 19, 20], Prompt[..20], Prompt[..5]];

        var batched = decoder.GenerateBatch(prompts, batchSize: 4);

        for (var i = 0; i < prompts.Length; i++)
        {
            var alone = decoder.Generate(prompts[i]);
            Assert.Equal(alone.Tokens, batched[i].Tokens);
            Assert.Equal(alone.Stopped, batched[i].Stopped);
            Assert.Equal(alone.MinTopGap, batched[i].MinTopGap);
        }
    }

    [Fact]
    public void A_forked_session_continues_like_the_original()
    {
        var session = Base.Value.CreateSession();
        session.Append(Prompt.AsSpan(0, 10));
        var fork = session.Fork();

        Assert.Equal(session.Append(Prompt.AsSpan(10)), fork.Append(Prompt.AsSpan(10)));
    }

    [Fact]
    public void Greedy_decoding_stops_at_eos_and_leaves_it_out()
    {
        var result = new GreedyDecoder(Base.Value, [2]).Generate(Prompt);

        Assert.True(result.Stopped);
        Assert.DoesNotContain(2, result.Tokens);
        Assert.Equal(4, result.Tokens[0]); // every answer starts with a space
    }

    [Fact]
    public void Log_probability_is_the_sum_of_log_softmax_over_the_continuation()
    {
        var model = Base.Value;
        var logits = model.ForwardLogits(Prompt);
        var expected = 0.0;
        for (var p = 20; p < Prompt.Length; p++)
        {
            var row = logits[p - 1].Select(v => (double)v).ToArray();
            var max = row.Max();
            expected += row[Prompt[p]] - max - Math.Log(row.Sum(v => Math.Exp(v - max)));
        }

        Assert.Equal(expected, model.LogProbability(Prompt.AsSpan(0, 20), Prompt.AsSpan(20)), 1e-9);
    }

    [Fact]
    public void Feeding_prompts_in_small_slices_changes_no_logit()
    {
        var model = Base.Value;
        int[][] prompts = [Prompt, Prompt[..7], Prompt[..1]];

        var whole = model.ForwardLast([.. prompts.Select(_ => model.CreateSession())], prompts);
        var sliced = model.ForwardLast([.. prompts.Select(_ => model.CreateSession())], prompts, maxRows: 4);

        Assert.Equal(whole, sliced);
    }

    [Fact]
    public void Scoring_in_small_slices_and_groups_changes_no_score()
    {
        ScoredSequence[] sequences =
        [
            new(Prompt, 20), new(Prompt, 1), new(Prompt[..12], 11), new(Prompt[..12], 12), new(Prompt[..30], 3),
        ];

        var whole = SequenceScorer.Score(Base.Value, sequences);
        var sliced = SequenceScorer.Score(Base.Value, sequences, maxRows: 3, maxGroup: 2);

        Assert.Equal(whole, sliced);
        Assert.Equal([15, 34, 1, 0, 27], whole.Select(s => s.TokenCount));
    }
}
