using MergeBuild.Checkpoints;

namespace MergeBuild.Fuzzing.Targets;

/// <summary>
/// A whole <c>.safetensors</c> file through <see cref="SafetensorsFile.Open"/> (length prefix, JSON header, data
/// coverage, memory map), then every tensor's bytes read back as the merge would.
/// </summary>
public sealed class SafetensorsTarget : IFuzzTarget
{
    private readonly WorkFolder _folder = new("safetensors");

    public string Name => "safetensors";

    public IReadOnlyList<string> Dictionary { get; } =
    [
        .. JsonTokens.Common, "\"dtype\"", "\"shape\"", "\"data_offsets\"", "\"__metadata__\"", "\"F32\"", "\"BF16\"",
        "\"F16\"", "\"F8_E4M3\"", "\"I64\"", "\"BOOL\"", "\"U8\"", "\"F64\"", "\"F4\"", "[0,0]", "[]", "[1,2,3,4,5,6,7,8,9]",
        "{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}", "\"format\":\"pt\"",
    ];

    public IEnumerable<byte[]> Seeds()
    {
        yield return SafetensorsBytes.Build(
        [
            new("model.embed_tokens.weight", "F32", [4, 3], 4),
            new("model.norm.weight", "BF16", [3], 2),
            new("lm_head.weight", "F16", [4, 3], 2),
        ], "{\"format\":\"pt\"}");
        yield return SafetensorsBytes.Build(
        [
            new("step", "I64", [], 8),
            new("empty", "F32", [0, 5], 4),
            new("mask", "BOOL", [3], 1),
            new("fp8", "F8_E4M3", [2, 2], 1),
            new("ids", "U8", [2], 1),
            new("wide", "F64", [1, 1, 1, 2], 8),
        ]);
        yield return SafetensorsBytes.Build([]);
    }

    public string Run(byte[] input)
    {
        var path = _folder.File("model.safetensors");
        File.WriteAllBytes(path, input);
        using var file = SafetensorsFile.Open(path);
        long checksum = 0;
        foreach (var tensor in file.Header.Tensors)
        {
            foreach (var b in file.GetBytes(tensor))
            {
                checksum += b;
            }
        }

        GC.KeepAlive(checksum);
        var dtypes = string.Join(',', file.Header.Tensors.Select(t => t.DType).Distinct().Order());
        var ranks = string.Join(',', file.Header.Tensors.Select(t => t.Shape.Length).Distinct().Order());
        return $"n{Math.Min(file.Header.Tensors.Count, 4)} m{file.Header.Metadata.Count > 0} {dtypes} r{ranks}";
    }

    // Half the mutants change only the JSON and get a matching length prefix, so they reach the header parser
    // instead of all failing the length check; some also grow or shrink the data section.
    public byte[] Mutate(byte[] input, Mutator mutator)
    {
        if (mutator.Random.Next(2) == 0 || !SafetensorsBytes.TrySplit(input, out var json, out var data))
        {
            return mutator.Mutate(input);
        }

        json = mutator.Mutate(json);
        if (mutator.Random.Next(4) == 0)
        {
            Array.Resize(ref data, Math.Max(0, data.Length + mutator.Random.Next(-16, 17)));
        }

        return SafetensorsBytes.Join(json, data);
    }

    public void Dispose() => _folder.Dispose();
}
