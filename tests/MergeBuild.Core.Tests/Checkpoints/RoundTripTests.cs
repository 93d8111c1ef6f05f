using System.Text.Json;
using MergeBuild.Checkpoints;
using MergeBuild.Tensors;
using MergeBuild.Tests;

namespace MergeBuild.Core.Tests.Checkpoints;

public class RoundTripTests
{
    private static readonly DType[] AllDTypes =
    [
        DType.F64, DType.F32, DType.F16, DType.BF16, DType.F8E4M3, DType.F8E5M2, DType.I64, DType.I32, DType.I16,
        DType.I8, DType.U8, DType.Bool, DType.U16, DType.U32, DType.U64,
    ];

    // Every dtype with a couple of shapes, a scalar and zero-element tensors; names chosen so that plan order
    // and name order differ.
    private static List<PlannedTensor> Planned()
    {
        List<PlannedTensor> tensors = [];
        foreach (var dtype in AllDTypes)
        {
            var n = DTypes.ToSafetensorsName(dtype);
            tensors.Add(new PlannedTensor($"z.{n}.matrix", dtype, [3, 5]));
            tensors.Add(new PlannedTensor($"a.{n}.vector", dtype, [7]));
        }

        tensors.Add(new PlannedTensor("scalar", DType.F32, []));
        tensors.Add(new PlannedTensor("empty.rows", DType.BF16, [0, 4]));
        tensors.Add(new PlannedTensor("empty.vector", DType.I64, [0]));
        return tensors;
    }

    private static Dictionary<string, byte[]> WriteAll(string folder, CheckpointLayout layout, int seed)
    {
        var random = new Random(seed);
        Dictionary<string, byte[]> written = [];
        using var writer = CheckpointWriter.Create(folder, layout);
        foreach (var shard in layout.Shards)
        {
            foreach (var tensor in shard.Tensors)
            {
                var bytes = new byte[tensor.ByteLength];
                random.NextBytes(bytes);
                written[tensor.Name] = bytes;

                // Two slices written out of order, to exercise positional writes.
                var half = bytes.Length / 2;
                writer.Write(tensor.Name, half, bytes.AsSpan(half));
                writer.Write(tensor.Name, 0, bytes.AsSpan(0, half));
            }
        }

        writer.Complete();
        return written;
    }

    private static void AssertReadsBack(string folder, List<PlannedTensor> planned, Dictionary<string, byte[]> written)
    {
        using var reader = CheckpointReader.Open(folder);
        Assert.Equal(planned.Count, reader.Files.Tensors.Count);
        foreach (var p in planned)
        {
            var info = reader.Get(p.Name);
            Assert.Equal(p.DType, info.DType);
            Assert.Equal(p.Shape, info.Shape);
            Assert.Equal(p.ByteLength, info.ByteLength);
            Assert.Equal(p.Shape.Aggregate(1L, (a, b) => a * b), info.ElementCount);
            Assert.True(written[p.Name].AsSpan().SequenceEqual(reader.GetBytes(p.Name, 0, (int)info.ByteLength)), p.Name);
        }
    }

    [Fact]
    public void Every_dtype_round_trips_in_one_file()
    {
        using var temp = new TempFolder();
        var planned = Planned();
        var layout = CheckpointLayout.Plan(planned, ShardSize.Default, new Dictionary<string, string> { ["format"] = "pt" });
        Assert.Single(layout.Shards);
        Assert.Equal("model.safetensors", layout.Shards[0].FileName);

        var written = WriteAll(temp.Path, layout, seed: 1);
        Assert.Equal(["model.safetensors"], Directory.GetFiles(temp.Path).Select(Path.GetFileName));
        AssertReadsBack(temp.Path, planned, written);

        var header = SafetensorsHeader.Read(temp.Combine("model.safetensors"));
        Assert.Equal("pt", header.Metadata["format"]);
        Assert.Equal(1, header.Find("scalar")!.ElementCount);
        Assert.Equal(4, header.Find("scalar")!.ByteLength);
        Assert.Equal(0, header.Find("empty.rows")!.ByteLength);
        Assert.Equal(0, header.DataStart % 8);
    }

    [Fact]
    public void Every_dtype_round_trips_sharded_with_an_oversized_tensor()
    {
        using var temp = new TempFolder();
        var planned = Planned();
        planned.Insert(3, new PlannedTensor("big", DType.F32, [40])); // 160 bytes, over the 100-byte limit
        var layout = CheckpointLayout.Plan(planned, maxShardBytes: 100);
        Assert.True(layout.Shards.Count > 3);
        var count = layout.Shards.Count;
        for (var i = 0; i < count; i++)
        {
            Assert.Equal($"model-{i + 1:D5}-of-{count:D5}.safetensors", layout.Shards[i].FileName);
            Assert.True(layout.Shards[i].DataLength <= 100 || layout.Shards[i].Tensors.Count == 1);
        }

        Assert.Single(layout.Locate("big").Shard.Tensors);

        var written = WriteAll(temp.Path, layout, seed: 2);
        AssertReadsBack(temp.Path, planned, written);

        using var index = JsonDocument.Parse(File.ReadAllBytes(temp.Combine("model.safetensors.index.json")));
        Assert.Equal(planned.Sum(p => p.ByteLength), index.RootElement.GetProperty("metadata").GetProperty("total_size").GetInt64());
        Assert.Equal(planned.Count, index.RootElement.GetProperty("weight_map").EnumerateObject().Count());
    }

    [Fact]
    public void Greedy_split_follows_plan_order()
    {
        // 40-byte tensors with a 100-byte limit: two per shard, in the given (not name) order.
        var planned = new[] { "d", "c", "b", "a", "e" }.Select(n => new PlannedTensor(n, DType.F32, [10])).ToList();
        var layout = CheckpointLayout.Plan(planned, 100);
        Assert.Equal(3, layout.Shards.Count);
        Assert.Equal(["c", "d"], layout.Shards[0].Tensors.Select(t => t.Name)); // sorted inside the shard
        Assert.Equal(["a", "b"], layout.Shards[1].Tensors.Select(t => t.Name));
        Assert.Equal(["e"], layout.Shards[2].Tensors.Select(t => t.Name));
        Assert.Equal(40, layout.Shards[0].Tensors[1].DataOffset);
        Assert.Equal(200, layout.TotalSize);
        Assert.Equal(layout.Shards[1], layout.Locate("b").Shard);

        // Exactly at the limit still fits.
        Assert.Single(CheckpointLayout.Plan(planned.Take(2).ToList(), 80).Shards);
    }
}
