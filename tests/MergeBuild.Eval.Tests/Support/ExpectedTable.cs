using System.Text.Json;
using MergeBuild.Tests;

namespace MergeBuild.Eval.Tests.Support;

/// <summary>
/// The fixtures' accuracy table (expected/results.json): per row, the exact-match counts per task and the number of
/// near-tie lines (top-2 logit gap below 1e-3 in the reference run), within which an independent float32
/// implementation may differ. <see cref="Folder"/> is the row's model: a fixture model or a reference merge.
/// </summary>
public sealed record ExpectedRow(string Name, IReadOnlyDictionary<string, (int Correct, int Total)> Results,
    IReadOnlyDictionary<string, int> NearTies)
{
    public string? Folder =>
        Directory.Exists(Fixtures.Model(Name)) ? Fixtures.Model(Name)
        : Directory.Exists(Fixtures.ExpectedMerge(Name)) ? Fixtures.ExpectedMerge(Name)
        : null;

    public static IReadOnlyList<ExpectedRow> Load()
    {
        using var document = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(Fixtures.Root, "expected", "results.json")));
        return [.. document.RootElement.GetProperty("rows").EnumerateArray().Select(row => new ExpectedRow(
            row.GetProperty("name").GetString()!,
            row.GetProperty("results").EnumerateObject().ToDictionary(
                t => t.Name, t => (t.Value[0].GetInt32(), t.Value[1].GetInt32())),
            row.GetProperty("near_ties").EnumerateObject().ToDictionary(t => t.Name, t => t.Value.GetInt32())))];
    }

    public static ExpectedRow Get(string name) => Load().Single(r => r.Name == name);
}
