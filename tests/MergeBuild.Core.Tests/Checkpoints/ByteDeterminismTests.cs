using MergeBuild.Checkpoints;
using MergeBuild.Tests;

namespace MergeBuild.Core.Tests.Checkpoints;

public class ByteDeterminismTests
{
    private static readonly Dictionary<string, string> PtMetadata = new() { ["format"] = "pt" };

    private static void CopyTensors(CheckpointReader reader, CheckpointWriter writer, IEnumerable<TensorInfo> tensors)
    {
        foreach (var tensor in tensors)
        {
            writer.Write(tensor.Name, 0, reader.GetBytes(tensor.Name, 0, (int)tensor.ByteLength));
        }
    }

    [Fact]
    public void Rewriting_the_base_fixture_gives_an_identical_file()
    {
        using var temp = new TempFolder();
        using var reader = CheckpointReader.Open(Fixtures.Model("base"));

        // Plan in a scrambled order: the header must still come out sorted by name.
        var planned = reader.Files.Tensors.Reverse().Select(t => new PlannedTensor(t.Name, t.DType, t.Shape)).ToList();
        var layout = CheckpointLayout.Plan(planned, ShardSize.Default, PtMetadata);
        using (var writer = CheckpointWriter.Create(temp.Path, layout))
        {
            CopyTensors(reader, writer, reader.Files.Tensors);
            writer.Complete();
        }

        Assert.Equal(File.ReadAllBytes(Path.Combine(Fixtures.Model("base"), "model.safetensors")),
            File.ReadAllBytes(temp.Combine("model.safetensors")));
        Assert.False(File.Exists(temp.Combine("model.safetensors.index.json")));
    }

    [Fact]
    public void Rewriting_the_sharded_fixture_gives_identical_shards_and_index()
    {
        using var temp = new TempFolder();
        var source = Fixtures.Model("refunds-sharded");
        using var reader = CheckpointReader.Open(source);

        // Plan shard 1's tensors, then shard 2's, with the limit at shard 1's data size: greedy splits there.
        var shard1 = SafetensorsHeader.Read(Path.Combine(source, "model-00001-of-00002.safetensors"));
        var planned = reader.Files.Tensors.Select(t => new PlannedTensor(t.Name, t.DType, t.Shape)).ToList();
        var layout = CheckpointLayout.Plan(planned, shard1.DataLength, PtMetadata);
        Assert.Equal(2, layout.Shards.Count);
        Assert.Equal(reader.Files.TotalBytes, layout.TotalSize);
        using (var writer = CheckpointWriter.Create(temp.Path, layout))
        {
            CopyTensors(reader, writer, reader.Files.Tensors);
            writer.Complete();
        }

        foreach (var name in new[]
                 { "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors", "model.safetensors.index.json" })
        {
            Assert.Equal(File.ReadAllBytes(Path.Combine(source, name)), File.ReadAllBytes(temp.Combine(name)));
        }
    }

    [Fact]
    public void Header_without_metadata_has_no_metadata_key_and_is_padded()
    {
        var layout = CheckpointLayout.Plan([new PlannedTensor("w", MergeBuild.Tensors.DType.BF16, [2, 3])], 1000);
        var header = layout.Shards[0].HeaderBytes;
        var json = System.Text.Encoding.UTF8.GetString(header, 8, header.Length - 8);
        Assert.Equal("{\"w\":{\"dtype\":\"BF16\",\"shape\":[2,3],\"data_offsets\":[0,12]}}      ", json);
        Assert.Equal((ulong)(header.Length - 8), BitConverter.ToUInt64(header, 0));
        Assert.Equal(0, header.Length % 8);
        Assert.Equal(header.Length + 12, layout.Shards[0].FileLength);
    }
}
