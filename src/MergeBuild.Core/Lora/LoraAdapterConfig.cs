using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using MergeBuild.Diagnostics;

namespace MergeBuild.Lora;

/// <summary>
/// A PEFT LoRA adapter's <c>adapter_config.json</c>: rank and alpha (with per-module patterns), rsLoRA and the
/// fan-in/fan-out layout. Anything that changes the math and that MergeBuild does not implement (DoRA) is refused.
/// </summary>
public sealed class LoraAdapterConfig
{
    public const string FileName = "adapter_config.json";

    private LoraAdapterConfig(int rank, double alpha, bool useRsLora, bool fanInFanOut,
        IReadOnlyList<KeyValuePair<string, double>> rankPattern, IReadOnlyList<KeyValuePair<string, double>> alphaPattern)
    {
        Rank = rank;
        Alpha = alpha;
        UseRsLora = useRsLora;
        FanInFanOut = fanInFanOut;
        RankPattern = rankPattern;
        AlphaPattern = alphaPattern;
    }

    public int Rank { get; }

    public double Alpha { get; }

    public bool UseRsLora { get; }

    public bool FanInFanOut { get; }

    public IReadOnlyList<KeyValuePair<string, double>> RankPattern { get; }

    public IReadOnlyList<KeyValuePair<string, double>> AlphaPattern { get; }

    /// <summary>
    /// PEFT's scaling for one module: alpha / r, or alpha / sqrt(r) with rsLoRA, where a <c>rank_pattern</c> or
    /// <c>alpha_pattern</c> key matching the module name (as a regex anchored at a dot boundary, like PEFT) overrides
    /// the defaults.
    /// </summary>
    public double Scaling(string moduleName)
    {
        var rank = Lookup(RankPattern, moduleName) ?? Rank;
        var alpha = Lookup(AlphaPattern, moduleName) ?? Alpha;
        return UseRsLora ? alpha / Math.Sqrt(rank) : alpha / rank;
    }

    public static LoraAdapterConfig Load(string adapterFolder)
    {
        var path = Path.Combine(adapterFolder, FileName);
        if (!File.Exists(path))
        {
            throw new MergeBuildException(ErrorCodes.ModelNotFound, $"'{adapterFolder}' has no {FileName}.",
                new SourceLocation(adapterFolder), "Point the +lora part of the reference at a PEFT adapter folder.");
        }

        JsonObject json;
        try
        {
            json = JsonNode.Parse(File.ReadAllText(path)) as JsonObject
                   ?? throw new JsonException("the top level is not an object");
        }
        catch (JsonException e)
        {
            throw new MergeBuildException(ErrorCodes.MalformedConfig, $"{FileName} is not valid: {e.Message}",
                new SourceLocation(path), "Fix or re-download the adapter.");
        }

        if (json["use_dora"] is JsonValue dora && dora.GetValueKind() == JsonValueKind.True)
        {
            throw new MergeBuildException(ErrorCodes.UnsupportedMethod,
                "this adapter uses DoRA, whose merge MergeBuild does not implement.", new SourceLocation(path),
                "Merge it with peft's merge_and_unload and reference the merged folder.");
        }

        var rank = Number(json, "r", path) ?? 8;
        var alpha = Number(json, "lora_alpha", path) ?? 8;
        if (rank <= 0)
        {
            throw new MergeBuildException(ErrorCodes.MalformedConfig, $"{FileName} has r = {rank}; the rank must be positive.",
                new SourceLocation(path));
        }

        return new LoraAdapterConfig((int)rank, alpha, Flag(json, "use_rslora"), Flag(json, "fan_in_fan_out"),
            Pattern(json, "rank_pattern", path), Pattern(json, "alpha_pattern", path));
    }

    private static double? Lookup(IReadOnlyList<KeyValuePair<string, double>> pattern, string moduleName)
    {
        foreach (var (key, value) in pattern)
        {
            // PEFT: re.match(rf".*\.{key}$", module) — the key matches a dotted suffix of the module name.
            if (moduleName == key || Regex.IsMatch(moduleName, $@"^.*\.{key}$", RegexOptions.None,
                    TimeSpan.FromMilliseconds(100)))
            {
                return value;
            }
        }

        return null;
    }

    private static double? Number(JsonObject json, string key, string path) =>
        json[key] switch
        {
            null => null,
            JsonValue v when v.GetValueKind() == JsonValueKind.Number => v.GetValue<double>(),
            _ => throw new MergeBuildException(ErrorCodes.MalformedConfig, $"{FileName}: '{key}' must be a number.",
                new SourceLocation(path)),
        };

    private static bool Flag(JsonObject json, string key) =>
        json[key] is JsonValue v && v.GetValueKind() == JsonValueKind.True;

    private static List<KeyValuePair<string, double>> Pattern(JsonObject json, string key, string path) =>
        json[key] is JsonObject map
            ? map.Select(kv => new KeyValuePair<string, double>(kv.Key,
                kv.Value is JsonValue v && v.GetValueKind() == JsonValueKind.Number
                    ? v.GetValue<double>()
                    : throw new MergeBuildException(ErrorCodes.MalformedConfig,
                        $"{FileName}: '{key}.{kv.Key}' must be a number.", new SourceLocation(path)))).ToList()
            : [];
}
