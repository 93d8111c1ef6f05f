using MergeBuild.Checkpoints;
using MergeBuild.Tensors;
using MergeBuild.Tests;

namespace MergeBuild.Core.Tests.Execution;

/// <summary>A fixture model copied into a temporary folder with its bf16 tensors rewritten or left out.</summary>
internal static class FixtureCopy
{
    /// <summary>
    /// Copies <paramref name="model"/>'s config and tokenizer files into <paramref name="name"/> under
    /// <paramref name="temp"/> and writes each tensor's bytes as <paramref name="rewrite"/> returns them (null leaves the
    /// tensor out); returns the folder.
    /// </summary>
    public static string Write(TempFolder temp, string model, string name, Func<string, byte[], byte[]?> rewrite)
    {
        var folder = temp.Combine(name);
        Directory.CreateDirectory(folder);
        foreach (var file in Directory.GetFiles(Fixtures.Model(model)).Where(f => !f.EndsWith(".safetensors", StringComparison.Ordinal)))
        {
            File.Copy(file, Path.Combine(folder, Path.GetFileName(file)));
        }

        var source = RawSafetensors.ReadFolder(Fixtures.Model(model));
        Assert.All(source.Values, t => Assert.Equal("BF16", t.DType));
        var tensors = source
            .Select(t => (Name: t.Key, t.Value.Shape, Data: rewrite(t.Key, t.Value.Data)))
            .Where(t => t.Data is not null)
            .ToList();
        var layout = CheckpointLayout.Plan(
            tensors.Select(t => new PlannedTensor(t.Name, DType.BF16, t.Shape)).ToList(), ShardSize.Default);
        using var writer = CheckpointWriter.Create(folder, layout);
        foreach (var (tensor, _, data) in tensors)
        {
            writer.Write(tensor, 0, data!);
        }

        writer.Complete();
        return folder;
    }
}
