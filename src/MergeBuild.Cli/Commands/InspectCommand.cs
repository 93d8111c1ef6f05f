using System.CommandLine;
using System.Text.Json;
using MergeBuild.Checkpoints;
using MergeBuild.Models;
using MergeBuild.Planning;
using MergeBuild.Tensors;

namespace MergeBuild.Cli.Commands;

/// <summary><c>mergebuild inspect MODEL [--json]</c>: what a checkpoint holds, read from its headers only.</summary>
internal static class InspectCommand
{
    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DictionaryKeyPolicy = null,
    };

    public static Command Create(MergeBuildCli cli)
    {
        var model = new Argument<string>("model") { Description = "A model folder or a .safetensors file." };
        var json = new Option<bool>("--json") { Description = "Print machine-readable JSON." };
        var command = new Command("inspect", "List a checkpoint's tensors, dtypes, shapes, parameters and bytes.")
        {
            model, json,
        };
        command.SetAction(parse => cli.Guard(() =>
        {
            var report = Build(parse.GetValue(model)!);
            if (parse.GetValue(json))
            {
                cli.Output.WriteLine(JsonSerializer.Serialize(report, Json));
            }
            else
            {
                PrintText(cli.Output, report);
            }

            return 0;
        }));
        return command;
    }

    private static InspectReport Build(string path)
    {
        var files = CheckpointFiles.Discover(path);
        var config = Directory.Exists(path) && File.Exists(Path.Combine(path, ModelConfig.FileName))
            ? ModelConfig.Load(path)
            : null;
        var tensors = files.Tensors.OrderBy(t => t.Name, StringComparer.Ordinal).Select(t => new TensorReport(
            t.Name, DTypes.ToSafetensorsName(t.DType), t.Shape, t.ElementCount, t.ByteLength,
            Path.GetFileName(files.FileOf(t.Name)))).ToList();
        var layers = files.Tensors.Select(t => TensorName.Parse(t.Name)).Where(n => n.Role == TensorRole.Layer)
            .Select(n => n.Layer + 1).DefaultIfEmpty(0).Max();
        return new InspectReport(
            path,
            config?.Architecture,
            config?.ModelType,
            config?.NumHiddenLayers ?? layers,
            config?.VocabSize,
            config?.TieWordEmbeddings,
            files.WeightFiles.Select(Path.GetFileName).ToList()!,
            tensors.Count,
            tensors.Sum(t => t.Elements),
            files.TotalBytes,
            tensors.GroupBy(t => t.DType).ToDictionary(g => g.Key, g => g.Count()),
            tensors);
    }

    private static void PrintText(TextWriter output, InspectReport report)
    {
        output.WriteLine(report.Path);
        if (report.Architecture is not null)
        {
            output.WriteLine($"  architecture  {report.Architecture} ({report.ModelType})");
        }

        output.WriteLine($"  layers        {report.Layers}");
        if (report.VocabSize is not null)
        {
            var tied = report.TieWordEmbeddings == true ? "yes" : "no";
            output.WriteLine($"  vocab size    {report.VocabSize} (tied embeddings: {tied})");
        }

        output.WriteLine($"  files         {string.Join(", ", report.Files)}");
        output.WriteLine($"  tensors       {report.TensorCount}");
        output.WriteLine($"  parameters    {Formatting.Count(report.ParameterCount)}");
        output.WriteLine($"  bytes         {Formatting.Bytes(report.Bytes)} ({Formatting.Count(report.Bytes)})");
        output.WriteLine($"  dtypes        {string.Join(", ", report.DTypes.Select(d => $"{d.Key} x{d.Value}"))}");
        output.WriteLine();
        var width = Math.Max(4, report.Tensors.Max(t => (int?)t.Name.Length) ?? 0);
        output.WriteLine($"  {"name".PadRight(width)}  dtype    {"shape",-16}  bytes");
        foreach (var tensor in report.Tensors)
        {
            output.WriteLine($"  {tensor.Name.PadRight(width)}  {tensor.DType,-7}  {Formatting.Shape(tensor.Shape),-16}  " +
                             Formatting.Count(tensor.Bytes));
        }
    }

    private sealed record TensorReport(string Name, string DType, long[] Shape, long Elements, long Bytes, string File);

    private sealed record InspectReport(
        string Path,
        string? Architecture,
        string? ModelType,
        int Layers,
        int? VocabSize,
        bool? TieWordEmbeddings,
        IReadOnlyList<string> Files,
        int TensorCount,
        long ParameterCount,
        long Bytes,
        IReadOnlyDictionary<string, int> DTypes,
        IReadOnlyList<TensorReport> Tensors);
}
