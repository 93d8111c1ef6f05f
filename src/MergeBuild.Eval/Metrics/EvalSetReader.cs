using System.Text.Json;
using MergeBuild.Diagnostics;

namespace MergeBuild.Eval.Metrics;

/// <summary>
/// Reads a JSONL eval set and checks every line has what the metric needs; MB6004 with the file and line
/// otherwise. Blank lines are skipped; <c>limit</c> keeps the first lines only.
/// </summary>
public static class EvalSetReader
{
    public static IReadOnlyList<EvalLine> Read(string path, EvalMetric metric, int? limit = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (limit is <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(limit), "The limit must be positive.");
        }

        if (!File.Exists(path))
        {
            throw new MergeBuildException(ErrorCodes.MalformedEvalSet, "the eval set does not exist.",
                new SourceLocation(path), "Check the eval file's path.");
        }

        var lines = new List<EvalLine>();
        var number = 0;
        foreach (var text in File.ReadLines(path))
        {
            number++;
            if (string.IsNullOrWhiteSpace(text))
            {
                continue;
            }

            if (lines.Count == limit)
            {
                break;
            }

            lines.Add(Check(Parse(text, path, number), metric, path));
        }

        return lines;
    }

    private static EvalLine Parse(string text, string path, int number)
    {
        try
        {
            using var document = JsonDocument.Parse(text);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw Error(path, number, "each line must be a JSON object.");
            }

            return new EvalLine(number,
                String(root, "prompt", path, number),
                String(root, "answer", path, number),
                Choices(root, path, number),
                Label(root, path, number),
                String(root, "text", path, number));
        }
        catch (JsonException e)
        {
            throw Error(path, number, "not valid JSON: " + e.Message);
        }
    }

    private static EvalLine Check(EvalLine line, EvalMetric metric, string path)
    {
        var missing = metric switch
        {
            EvalMetric.ExactMatch when line.Prompt is null || line.Answer is null => "\"prompt\" and \"answer\"",
            EvalMetric.Accuracy when line.Prompt is null || line.Choices is null || line.Label is null =>
                "\"prompt\", \"choices\" and \"label\"",
            EvalMetric.Perplexity when line.Text is null && (line.Prompt is null || line.Answer is null) =>
                "\"text\" (or \"prompt\" and \"answer\")",
            _ => null,
        };
        if (missing is not null)
        {
            throw Error(path, line.Line, $"{EvalMetrics.Name(metric)} needs {missing} on every line.");
        }

        if (metric == EvalMetric.Accuracy && (line.Label < 0 || line.Label >= line.Choices!.Count))
        {
            throw Error(path, line.Line, $"label {line.Label} is not an index into the {line.Choices!.Count} choices.");
        }

        return line;
    }

    private static string? String(JsonElement root, string name, string path, int number) =>
        !root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null ? null
        : value.ValueKind == JsonValueKind.String ? value.GetString()
        : throw Error(path, number, $"\"{name}\" must be a string.");

    private static string[]? Choices(JsonElement root, string path, int number)
    {
        if (!root.TryGetProperty("choices", out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.Array || value.GetArrayLength() == 0 ||
            value.EnumerateArray().Any(c => c.ValueKind != JsonValueKind.String))
        {
            throw Error(path, number, "\"choices\" must be a non-empty array of strings.");
        }

        return [.. value.EnumerateArray().Select(c => c.GetString()!)];
    }

    private static int? Label(JsonElement root, string path, int number) =>
        !root.TryGetProperty("label", out var value) || value.ValueKind == JsonValueKind.Null ? null
        : value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var label) ? label
        : throw Error(path, number, "\"label\" must be an integer (the index of the correct choice).");

    private static MergeBuildException Error(string path, int line, string message) =>
        new(ErrorCodes.MalformedEvalSet, message, new SourceLocation(path, line), "Fix that line of the eval set.");
}
