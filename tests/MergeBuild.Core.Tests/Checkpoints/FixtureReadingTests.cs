using MergeBuild.Checkpoints;
using MergeBuild.Tensors;
using MergeBuild.Tests;

namespace MergeBuild.Core.Tests.Checkpoints;

public class FixtureReadingTests
{
    public static TheoryData<string, int, long> Models => new()
    {
        { "base", 83, 808_832 },
        { "catalog", 83, 808_832 },
        { "catalog-sku", 84, 809_088 },
        { "refunds", 83, 808_832 },
        { "refunds-sharded", 83, 808_832 },
        { "shipping", 83, 808_832 },
    };

    // The tensors the fixtures README lists, with shapes from its architecture section (hidden 128,
    // 4 heads of 32, 2 kv heads, intermediate 384, 4 layers, untied lm_head).
    private static Dictionary<string, long[]> ExpectedTensors(int vocab)
    {
        Dictionary<string, long[]> expected = new()
        {
            ["model.embed_tokens.weight"] = [vocab, 128],
            ["model.norm.weight"] = [128],
            ["lm_head.weight"] = [vocab, 128],
        };
        for (var i = 0; i < 4; i++)
        {
            var p = $"model.layers.{i}.";
            expected[p + "self_attn.q_proj.weight"] = [128, 128];
            expected[p + "self_attn.k_proj.weight"] = [64, 128];
            expected[p + "self_attn.v_proj.weight"] = [64, 128];
            expected[p + "self_attn.o_proj.weight"] = [128, 128];
            expected[p + "mlp.gate_proj.weight"] = [384, 128];
            expected[p + "mlp.up_proj.weight"] = [384, 128];
            expected[p + "mlp.down_proj.weight"] = [128, 384];
            expected[p + "input_layernorm.weight"] = [128];
            expected[p + "post_attention_layernorm.weight"] = [128];
        }

        return expected;
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void Model_has_exactly_the_documented_tensors(string model, int vocab, long parameters)
    {
        var files = CheckpointFiles.Discover(Fixtures.Model(model));
        var expected = ExpectedTensors(vocab);

        Assert.Equal(39, files.Tensors.Count);
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), files.Tensors.Select(t => t.Name).Order(StringComparer.Ordinal));
        foreach (var tensor in files.Tensors)
        {
            Assert.Equal(DType.BF16, tensor.DType);
            Assert.Equal(expected[tensor.Name], tensor.Shape);
            Assert.Equal(tensor.ElementCount * 2, tensor.ByteLength);
        }

        Assert.Equal(parameters, files.Tensors.Sum(t => t.ElementCount));
        Assert.Equal(parameters * 2, files.TotalBytes);
        Assert.Equal(vocab, files.Find("lm_head.weight")!.Shape[0]);
        Assert.Equal(vocab, files.Find("model.embed_tokens.weight")!.Shape[0]);
        Assert.Null(files.Find("model.layers.4.mlp.up_proj.weight"));
    }

    [Fact]
    public void Single_file_header_has_metadata_and_offsets()
    {
        var header = SafetensorsHeader.Read(Path.Combine(Fixtures.Model("base"), "model.safetensors"));
        Assert.Equal("pt", header.Metadata["format"]);
        Assert.Equal(8 + 4112, header.DataStart);
        Assert.Equal(1_617_664, header.DataLength);
        Assert.Equal(0, header.Tensors[0].DataOffset);
        Assert.Equal("lm_head.weight", header.Tensors[0].Name);
        for (var i = 1; i < header.Tensors.Count; i++)
        {
            Assert.Equal(header.Tensors[i - 1].DataOffset + header.Tensors[i - 1].ByteLength, header.Tensors[i].DataOffset);
        }
    }

    [Fact]
    public void Sharded_model_lists_shards_in_order_and_maps_tensors()
    {
        var folder = Fixtures.Model("refunds-sharded");
        var files = CheckpointFiles.Discover(folder);
        Assert.Equal(
            [Path.Combine(folder, "model-00001-of-00002.safetensors"), Path.Combine(folder, "model-00002-of-00002.safetensors")],
            files.WeightFiles);
        Assert.Equal(files.WeightFiles[1], files.FileOf("lm_head.weight"));
        Assert.Equal(files.WeightFiles[0], files.FileOf("model.embed_tokens.weight"));
    }

    [Fact]
    public void Sharded_tensors_are_byte_identical_to_single_file()
    {
        using var single = CheckpointReader.Open(Fixtures.Model("refunds"));
        using var sharded = CheckpointReader.Open(Fixtures.Model("refunds-sharded"));
        Assert.Equal(single.Files.Tensors.Count, sharded.Files.Tensors.Count);
        foreach (var tensor in single.Files.Tensors)
        {
            var other = sharded.Get(tensor.Name);
            Assert.Equal(tensor.Shape, other.Shape);
            var a = single.GetBytes(tensor.Name, 0, (int)tensor.ByteLength);
            var b = sharded.GetBytes(tensor.Name, 0, (int)other.ByteLength);
            Assert.True(a.SequenceEqual(b), tensor.Name);
        }
    }

    [Fact]
    public void Reader_reads_the_raw_bytes_at_the_header_offsets()
    {
        var path = Path.Combine(Fixtures.Model("base"), "model.safetensors");
        var raw = File.ReadAllBytes(path);
        using var file = SafetensorsFile.Open(path);
        foreach (var tensor in file.Header.Tensors)
        {
            var expected = raw.AsSpan((int)(file.Header.DataStart + tensor.DataOffset), (int)tensor.ByteLength);
            Assert.True(expected.SequenceEqual(file.GetBytes(tensor)), tensor.Name);
        }

        var norm = file.Header.Find("model.norm.weight")!;
        var slice = file.GetBytes(norm, 10, 6);
        Assert.True(raw.AsSpan((int)(file.Header.DataStart + norm.DataOffset + 10), 6).SequenceEqual(slice));
        Assert.Throws<ArgumentOutOfRangeException>(() => file.GetBytes(norm, norm.ByteLength - 1, 2).Length);
        Assert.Throws<ArgumentOutOfRangeException>(() => file.GetBytes(norm, -1, 1).Length);
    }

    [Fact]
    public void Page_advice_at_and_beyond_the_file_edges_never_changes_what_is_read()
    {
        // Releasing a window also drops the fault-around pages beyond it, clamped to the file's data: the first and
        // last tensors' edges (and out-of-range offsets, clamped to the tensor) must be accepted and lose nothing.
        var path = Path.Combine(Fixtures.Model("base"), "model.safetensors");
        var raw = File.ReadAllBytes(path);
        using var file = SafetensorsFile.Open(path);
        var ordered = file.Header.Tensors.OrderBy(t => t.DataOffset).ToList();
        foreach (var tensor in new[] { ordered[0], ordered[^1] })
        {
            file.Advise(tensor, 0, tensor.ByteLength, PageAdvice.WillNeed);
            file.Advise(tensor, 0, tensor.ByteLength, PageAdvice.DontNeed);
            file.Advise(tensor, tensor.ByteLength + 10, 5, PageAdvice.DontNeed);
            file.Advise(tensor, 3, tensor.ByteLength * 2, PageAdvice.DontNeed);
        }

        foreach (var tensor in file.Header.Tensors)
        {
            var expected = raw.AsSpan((int)(file.Header.DataStart + tensor.DataOffset), (int)tensor.ByteLength);
            Assert.True(expected.SequenceEqual(file.GetBytes(tensor)), tensor.Name);
        }
    }

    [Fact]
    public void Missing_tensor_is_MB1006_naming_tensor_and_folder()
    {
        using var reader = CheckpointReader.Open(Fixtures.Model("base"));
        Assert.True(reader.Contains("lm_head.weight"));
        Assert.False(reader.Contains("lm_head.bias"));
        var ex = Assert.Throws<Diagnostics.MergeBuildException>(() => reader.Get("lm_head.bias"));
        Assert.Equal("MB1006", ex.Code);
        Assert.Contains("lm_head.bias", ex.Message, StringComparison.Ordinal);
        Assert.Equal(Path.GetFullPath(Fixtures.Model("base")), ex.Location!.File);
    }

    [Fact]
    public void Direct_path_to_a_safetensors_file_is_accepted()
    {
        var path = Path.Combine(Fixtures.Model("shipping"), "model.safetensors");
        var files = CheckpointFiles.Discover(path);
        Assert.Equal([path], files.WeightFiles);
        Assert.Equal(Fixtures.Model("shipping"), files.Folder);
    }

    [Fact]
    public void Many_threads_read_concurrently()
    {
        using var reader = CheckpointReader.Open(Fixtures.Model("refunds-sharded"));
        var expected = reader.Files.Tensors.ToDictionary(t => t.Name, t => reader.GetBytes(t.Name, 0, (int)t.ByteLength).ToArray());

        // A fresh reader, so the threads also race to open the shards lazily.
        using var fresh = CheckpointReader.Open(Fixtures.Model("refunds-sharded"));
        Parallel.For(0, 256, i =>
        {
            var tensor = fresh.Files.Tensors[i % fresh.Files.Tensors.Count];
            Assert.True(expected[tensor.Name].AsSpan().SequenceEqual(fresh.GetBytes(tensor.Name, 0, (int)tensor.ByteLength)));
        });
    }
}
