using System.Diagnostics;
using MergeBuild.Eval.Metrics;
using MergeBuild.Eval.Tests.Support;
using MergeBuild.Tests;
using Xunit.Abstractions;

namespace MergeBuild.Eval.Tests.Metrics;

/// <summary>
/// The whole accuracy table of the fixtures README for every row whose model is in the repository (the base, each
/// specialist, and the reference merges in fixtures/expected/merges): each task's exact-match count must equal the
/// table's or differ by no more than that row's near-tie count for the task.
/// </summary>
public class AccuracyTableTests(ITestOutputHelper output)
{
    public static TheoryData<string> Rows()
    {
        var data = new TheoryData<string>();
        foreach (var row in ExpectedRow.Load().Where(r => r.Folder is not null))
        {
            data.Add(row.Name);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Rows))]
    public void Row_matches_the_table(string name)
    {
        var expected = ExpectedRow.Get(name);
        var model = EvalModel.Load(expected.Folder!);
        foreach (var (task, (correct, total)) in expected.Results)
        {
            var watch = Stopwatch.StartNew();
            var result = EvalRunner.Evaluate(model, Fixtures.Eval(task), EvalMetric.ExactMatch);
            var nearTies = result.Lines.Count(l => l.MinTopGap < 1e-3f);
            output.WriteLine($"{name} {task}: {result.Correct}/{result.N} (table {correct}/{total}, " +
                             $"near ties {expected.NearTies[task]} there, {nearTies} here) in {watch.ElapsedMilliseconds} ms");

            Assert.Equal(total, result.N);
            Assert.InRange(result.Correct!.Value, correct - expected.NearTies[task], correct + expected.NearTies[task]);
        }
    }
}
