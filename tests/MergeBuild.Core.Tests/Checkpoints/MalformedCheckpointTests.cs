using System.Buffers.Binary;
using System.Text;
using MergeBuild.Checkpoints;
using MergeBuild.Diagnostics;
using MergeBuild.Tests;

namespace MergeBuild.Core.Tests.Checkpoints;

/// <summary>
/// A corpus of broken checkpoints, each made from a valid one with exactly one defect. Every case must fail with a
/// <see cref="MergeBuildException"/> carrying the expected code, the offending file and (where there is one)
/// the tensor's name — never with any other exception type.
/// </summary>
public class MalformedCheckpointTests
{
    private const string Header = ErrorCodes.MalformedSafetensorsHeader;
    private const string Entry = ErrorCodes.InvalidTensorEntry;
    private const string Index = ErrorCodes.MalformedShardIndex;

    private static string Valid => RawSafetensors.ValidJson;

    private static byte[] WithJson(string json) => RawSafetensors.Build(json, RawSafetensors.ValidData());

    private static byte[] Replace(string from, string to)
    {
        Assert.Contains(from, Valid, StringComparison.Ordinal); // the defect must really be applied
        return WithJson(Valid.Replace(from, to, StringComparison.Ordinal));
    }

    private static byte[] WithLengthPrefix(ulong length)
    {
        var file = WithJson(Valid);
        BinaryPrimitives.WriteUInt64LittleEndian(file, length);
        return file;
    }

    private static string Nested(int depth) => new string('[', depth) + new string(']', depth);

    // name -> (file bytes, expected code, tensor the message must name or null)
    private static readonly Dictionary<string, (Func<byte[]> Bytes, string Code, string? Tensor)> FileCases = new()
    {
        ["shorter than 8 bytes"] = (() => [1, 2, 3], Header, null),
        ["empty file"] = (() => [], Header, null),
        ["header length over the 100 MB bound"] = (() => WithLengthPrefix(200_000_000), Header, null),
        ["header length huge (sign bit)"] = (() => WithLengthPrefix(ulong.MaxValue), Header, null),
        ["header length past end of file"] = (() => WithLengthPrefix(5_000), Header, null),
        ["invalid UTF-8"] = (() => RawSafetensors.Build(
            [.. Encoding.UTF8.GetBytes("{\"__metadata__\":{\"x\":\""), 0xC3, 0x28, .. Encoding.UTF8.GetBytes("\"}}")], []),
            Header, null),
        ["truncated JSON"] = (() => WithJson(Valid[..^3]), Header, null),
        ["not JSON at all"] = (() => WithJson("hello world"), Header, null),
        ["top level is an array"] = (() => WithJson("[1,2,3]"), Header, null),
        ["trailing garbage after the object"] = (() => WithJson(Valid + " x"), Header, null),
        ["duplicate tensor key"] = (() => Replace("\"beta\":", "\"alpha\":"), Header, "alpha"),
        ["duplicate __metadata__"] = (() => Replace("{\"__metadata__\":{\"format\":\"pt\"},",
            "{\"__metadata__\":{},\"__metadata__\":{\"format\":\"pt\"},"), Header, null),
        ["duplicate metadata key"] = (() => Replace("{\"format\":\"pt\"}", "{\"format\":\"pt\",\"format\":\"np\"}"), Header, null),
        ["deep nesting in metadata"] = (() => Replace("{\"format\":\"pt\"}", Nested(500)), Header, null),
        ["deep nesting in a tensor entry"] = (() => Replace("\"dtype\":\"F32\"", "\"dtype\":" + Nested(500)), Entry, "alpha"),
        ["metadata is a string"] = (() => Replace("{\"format\":\"pt\"}", "\"pt\""), Header, null),
        ["metadata value is a number"] = (() => Replace("\"pt\"", "1"), Header, null),
        ["entry is not an object"] = (() => Replace("{\"dtype\":\"BF16\",\"shape\":[2,2],\"data_offsets\":[8,16]}", "[8,16]"), Entry, "beta"),
        ["unknown key in entry"] = (() => Replace("\"dtype\":\"BF16\",", "\"dtype\":\"BF16\",\"offset\":0,"), Entry, "beta"),
        ["duplicate key in entry"] = (() => Replace("\"dtype\":\"BF16\",", "\"dtype\":\"BF16\",\"dtype\":\"BF16\","), Entry, "beta"),
        ["missing dtype"] = (() => Replace("\"dtype\":\"BF16\",", ""), Entry, "beta"),
        ["missing shape"] = (() => Replace("\"shape\":[2,2],", ""), Entry, "beta"),
        ["missing data_offsets"] = (() => Replace(",\"data_offsets\":[8,16]", ""), Entry, "beta"),
        ["unknown dtype"] = (() => Replace("\"BF16\"", "\"F4\""), Entry, "beta"),
        ["lowercase dtype"] = (() => Replace("\"BF16\"", "\"bf16\""), Entry, "beta"),
        ["dtype not a string"] = (() => Replace("\"BF16\"", "16"), Entry, "beta"),
        ["shape not an array"] = (() => Replace("[2,2]", "4"), Entry, "beta"),
        ["negative dimension"] = (() => Replace("[2,2]", "[-2,-2]"), Entry, "beta"),
        ["fractional dimension"] = (() => Replace("[2,2]", "[2.0,2]"), Entry, "beta"),
        ["string dimension"] = (() => Replace("[2,2]", "[\"2\",2]"), Entry, "beta"),
        ["rank over 64"] = (() => Replace("[2,2]", "[" + string.Join(",", Enumerable.Repeat(1, 64)) + ",2,2]"), Entry, "beta"),
        ["element count overflows"] = (() => Replace("[2,2]", "[4611686018427387904,4611686018427387904]"), Entry, "beta"),
        ["byte length overflows"] = (() => Replace("[2,2]", "[4611686018427387904]"), Entry, "beta"),
        ["three data_offsets"] = (() => Replace("[8,16]", "[8,12,16]"), Entry, "beta"),
        ["one data_offset"] = (() => Replace("[8,16]", "[8]"), Entry, "beta"),
        ["negative data_offset"] = (() => Replace("[0,8]", "[-8,0]"), Entry, "alpha"),
        ["begin after end"] = (() => Replace("[8,16]", "[16,8]"), Entry, "beta"),
        ["size disagrees with shape"] = (() => Replace("[2,2]", "[2,3]"), Entry, "beta"),
        ["end past the data"] = (() => RawSafetensors.Build(Valid, RawSafetensors.ValidData()[..12]), Entry, "beta"),
        ["overlapping tensors"] = (() => WithJson(Valid.Replace("[2],", "[3],", StringComparison.Ordinal)
            .Replace("[0,8]", "[0,12]", StringComparison.Ordinal).Replace("[2,2]", "[2]", StringComparison.Ordinal)
            .Replace("[8,16]", "[10,14]", StringComparison.Ordinal)), Entry, "beta"),
        ["gap between tensors"] = (() => Replace("\"shape\":[2,2],\"data_offsets\":[8,16]", "\"shape\":[2,1],\"data_offsets\":[12,16]"), Entry, "beta"),
        ["data not fully covered"] = (() => RawSafetensors.Build(Valid, [.. RawSafetensors.ValidData(), 0, 0, 0, 0]), Header, null),
        ["escaped lone surrogate in a name"] = (() => Replace("\"alpha\"", "\"\\ud800\""), Header, null),
    };

    public static TheoryData<string> FileCaseNames => [.. FileCases.Keys];

    [Theory]
    [MemberData(nameof(FileCaseNames))]
    public void Malformed_file_is_rejected_with_its_code(string caseName)
    {
        var (bytes, code, tensor) = FileCases[caseName];
        using var temp = new TempFolder();
        var path = temp.Combine("model.safetensors");
        File.WriteAllBytes(path, bytes());

        // Every entry point that reads the file must reject it the same way.
        AssertRejected(() => SafetensorsHeader.Read(path), code, path, tensor);
        AssertRejected(() => SafetensorsFile.Open(path).Dispose(), code, path, tensor);
        AssertRejected(() => CheckpointFiles.Discover(temp.Path), code, path, tensor);
    }

    [Fact]
    public void The_valid_base_of_the_corpus_is_accepted()
    {
        using var temp = new TempFolder();
        var path = temp.Combine("model.safetensors");
        File.WriteAllBytes(path, WithJson(Valid));
        using var file = SafetensorsFile.Open(path);
        Assert.Equal(["alpha", "beta"], file.Header.Tensors.Select(t => t.Name));
        Assert.Equal(RawSafetensors.ValidData()[8..], file.GetBytes(file.Header.Find("beta")!).ToArray());
    }

    [Fact]
    public void Zero_length_tensor_between_others_is_accepted()
    {
        using var temp = new TempFolder();
        var path = temp.Combine("model.safetensors");
        File.WriteAllBytes(path, Replace("{\"__metadata__\":{\"format\":\"pt\"},",
            "{\"empty\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,8]},"));
        Assert.Empty(SafetensorsHeader.Read(path).Metadata);
        Assert.Equal(3, SafetensorsHeader.Read(path).Tensors.Count);
    }

    // ---------- sharded indexes and folders ----------

    private static string CopySharded(TempFolder temp)
    {
        var source = Fixtures.Model("refunds-sharded");
        foreach (var file in Directory.GetFiles(source))
        {
            File.Copy(file, temp.Combine(Path.GetFileName(file)));
        }

        return temp.Combine("model.safetensors.index.json");
    }

    private static void EditIndex(string indexPath, string from, string to)
    {
        var text = File.ReadAllText(indexPath);
        Assert.Contains(from, text, StringComparison.Ordinal);
        File.WriteAllText(indexPath, text.Replace(from, to, StringComparison.Ordinal));
    }

    private const string Shard1 = "model-00001-of-00002.safetensors";
    private const string Shard2 = "model-00002-of-00002.safetensors";
    private const string LmHeadLine = "\"lm_head.weight\": \"" + Shard2 + "\"";

    // name -> (defect applied to a copy of refunds-sharded; returns the file the error must point at, code, tensor)
    private static readonly Dictionary<string, (Func<TempFolder, string, string> Apply, string Code, string? Tensor)> FolderCases = new()
    {
        ["index not JSON"] = ((_, index) => { File.WriteAllText(index, "{\"weight_map\": "); return index; }, Index, null),
        ["index is an array"] = ((_, index) => { File.WriteAllText(index, "[]"); return index; }, Index, null),
        ["index without weight_map"] = ((_, index) => { EditIndex(index, "\"weight_map\"", "\"weights\""); return index; }, Index, null),
        ["weight_map is an array"] = ((_, index) =>
        {
            File.WriteAllText(index, "{\"weight_map\": [\"" + Shard1 + "\"]}");
            return index;
        }, Index, null),
        ["weight_map value is a number"] = ((_, index) => { EditIndex(index, LmHeadLine, "\"lm_head.weight\": 2"); return index; }, Index, "lm_head.weight"),
        ["shard path escapes the folder"] = ((_, index) =>
        {
            EditIndex(index, LmHeadLine, "\"lm_head.weight\": \"../" + Shard2 + "\"");
            return index;
        }, Index, "lm_head.weight"),
        ["shard path with a folder"] = ((_, index) =>
        {
            EditIndex(index, LmHeadLine, "\"lm_head.weight\": \"sub/" + Shard2 + "\"");
            return index;
        }, Index, "lm_head.weight"),
        ["shard path is dot-dot"] = ((_, index) => { EditIndex(index, LmHeadLine, "\"lm_head.weight\": \"..\""); return index; }, Index, "lm_head.weight"),
        ["listed shard missing"] = ((temp, index) => { File.Delete(temp.Combine(Shard2)); return index; }, Index, null),
        ["listed tensor not in its shard"] = ((_, index) =>
        {
            EditIndex(index, LmHeadLine, LmHeadLine + ",\n    \"lm_head.bias\": \"" + Shard2 + "\"");
            return index;
        }, Index, "lm_head.bias"),
        ["tensor listed in the wrong shard"] = ((_, index) =>
        {
            EditIndex(index, LmHeadLine, "\"lm_head.weight\": \"" + Shard1 + "\"");
            return index;
        }, Index, "lm_head.weight"),
        ["duplicate key in weight_map"] = ((_, index) => { EditIndex(index, LmHeadLine, LmHeadLine + ",\n    " + LmHeadLine); return index; }, Index, "lm_head.weight"),
        ["tensor stored in two shards"] = ((temp, index) =>
        {
            // Rebuild shard 2 so that it also holds the embedding, which shard 1 already has.
            var header = SafetensorsHeader.Read(temp.Combine(Shard2));
            var lmHead = header.Find("lm_head.weight")!;
            var data = File.ReadAllBytes(temp.Combine(Shard2)).AsSpan((int)header.DataStart).ToArray();
            var json = Encoding.UTF8.GetString(File.ReadAllBytes(temp.Combine(Shard2)), 8, (int)header.DataStart - 8).TrimEnd();
            var extra = ",\"model.embed_tokens.weight\":{\"dtype\":\"BF16\",\"shape\":[83,128],\"data_offsets\":[" +
                        data.Length + "," + (data.Length + lmHead.ByteLength) + "]}}";
            File.WriteAllBytes(temp.Combine(Shard2), RawSafetensors.Build(json[..^1] + extra,
                [.. data, .. data.AsSpan((int)lmHead.DataOffset, (int)lmHead.ByteLength)]));
            return index;
        }, Index, "model.embed_tokens.weight"),
        ["shard tensor missing from the index"] = ((_, index) => { EditIndex(index, LmHeadLine + ",", ""); return index; }, Index, "lm_head.weight"),
        ["total_size wrong"] = ((_, index) => { EditIndex(index, "1617664", "1617666"); return index; }, Index, null),
        ["total_size negative"] = ((_, index) => { EditIndex(index, "1617664", "-1617664"); return index; }, Index, null),
        ["malformed shard header"] = ((temp, _) =>
        {
            var shard = temp.Combine(Shard2);
            var bytes = File.ReadAllBytes(shard);
            bytes[8] = (byte)'[';
            File.WriteAllBytes(shard, bytes);
            return shard;
        }, Header, null),
        ["truncated shard"] = ((temp, _) =>
        {
            var shard = temp.Combine(Shard1);
            var bytes = File.ReadAllBytes(shard);
            File.WriteAllBytes(shard, bytes[..^1]);
            return shard;
        }, Entry, null),
    };

    public static TheoryData<string> FolderCaseNames => [.. FolderCases.Keys];

    [Theory]
    [MemberData(nameof(FolderCaseNames))]
    public void Malformed_sharded_model_is_rejected_with_its_code(string caseName)
    {
        var (apply, code, tensor) = FolderCases[caseName];
        using var temp = new TempFolder();
        var index = CopySharded(temp);
        CheckpointFiles.Discover(temp.Path); // valid before the defect
        var blamed = apply(temp, index);
        AssertRejected(() => CheckpointFiles.Discover(temp.Path), code, blamed, tensor);
        AssertRejected(() => CheckpointReader.Open(temp.Path).Dispose(), code, blamed, tensor);
    }

    [Fact]
    public void Total_size_may_be_absent()
    {
        using var temp = new TempFolder();
        var index = CopySharded(temp);
        EditIndex(index, "\"total_size\": 1617664", "\"other\": [1, {\"x\": 2}]");
        Assert.Equal(39, CheckpointFiles.Discover(temp.Path).Tensors.Count);
    }

    [Theory]
    [InlineData("pytorch_model.bin")]
    [InlineData("pytorch_model.bin.index.json")]
    [InlineData("weights.pt")]
    [InlineData("weights.pth")]
    [InlineData("model.ckpt")]
    public void Pickle_only_folder_is_refused_with_MB1002(string fileName)
    {
        using var temp = new TempFolder();
        File.WriteAllBytes(temp.Combine(fileName), [0x80, 0x02]);
        File.WriteAllText(temp.Combine("config.json"), "{}");
        var ex = AssertRejected(() => CheckpointFiles.Discover(temp.Path), ErrorCodes.PickleRefused, temp.Path, fileName);
        Assert.Contains("execute", ex.FullMessage, StringComparison.Ordinal);
        Assert.Contains("safe_serialization=True", ex.FullMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void Direct_pickle_file_is_refused_with_MB1002()
    {
        using var temp = new TempFolder();
        var path = temp.Combine("pytorch_model.bin");
        File.WriteAllBytes(path, [0x80, 0x02]);
        AssertRejected(() => CheckpointFiles.Discover(path), ErrorCodes.PickleRefused, path, null);
    }

    [Fact]
    public void Missing_or_empty_folder_is_MB1001()
    {
        using var temp = new TempFolder();
        AssertRejected(() => CheckpointFiles.Discover(temp.Path), ErrorCodes.CheckpointNotFound, temp.Path, null);
        var missing = temp.Combine("nope");
        AssertRejected(() => CheckpointFiles.Discover(missing), ErrorCodes.CheckpointNotFound, missing, null);
        AssertRejected(() => SafetensorsHeader.Read(temp.Combine("nope.safetensors")), ErrorCodes.CheckpointNotFound,
            temp.Combine("nope.safetensors"), null);
    }

    [Fact]
    public void Safetensors_weights_win_over_pickle_weights()
    {
        using var temp = new TempFolder();
        File.Copy(Path.Combine(Fixtures.Model("base"), "model.safetensors"), temp.Combine("model.safetensors"));
        File.WriteAllBytes(temp.Combine("pytorch_model.bin"), [0x80, 0x02]);
        Assert.Equal(39, CheckpointFiles.Discover(temp.Path).Tensors.Count);
    }

    private static MergeBuildException AssertRejected(Action action, string code, string file, string? mustMention)
    {
        MergeBuildException ex;
        try
        {
            action();
            throw new Xunit.Sdk.XunitException($"Expected {code}, but nothing was thrown.");
        }
        catch (MergeBuildException caught)
        {
            ex = caught;
        }
        catch (Exception other) when (other is not Xunit.Sdk.XunitException)
        {
            throw new Xunit.Sdk.XunitException($"Expected MergeBuildException {code}, got {other.GetType().Name}: {other}");
        }

        Assert.True(code == ex.Code, $"Expected {code}, got {ex.Code}: {ex.FullMessage}");
        Assert.Equal(Path.GetFullPath(file), ex.Location?.File);
        if (mustMention is not null)
        {
            Assert.Contains(mustMention, ex.Message, StringComparison.Ordinal);
        }

        Assert.False(string.IsNullOrWhiteSpace(ex.Hint));
        return ex;
    }
}
