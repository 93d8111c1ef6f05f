using System.Globalization;
using System.IO.Hashing;
using System.Text;
using System.Text.Json.Nodes;
using MergeBuild.Fingerprints;

namespace MergeBuild.Eval.Gates;

/// <summary>
/// Input models' scores, remembered by content: the key hashes every file of the model folder, the eval set's bytes,
/// the metric, the limit and the engine. A source model is evaluated once, whatever recipe or project uses it.
/// </summary>
public sealed class BaselineCache(string directory)
{
    private readonly ContentHashCache hashes = ContentHashCache.Load(Path.Combine(directory, "content-hashes.tsv"));

    /// <summary>The default location: the user's local application data folder.</summary>
    public static string DefaultDirectory =>
        Environment.GetEnvironmentVariable("MERGEBUILD_BASELINE_CACHE") is { Length: > 0 } configured
            ? configured
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData,
                Environment.SpecialFolderOption.Create), "mergebuild", "baselines");

    /// <summary>The cached (score, n) or the result of <paramref name="compute"/>, which is then remembered.</summary>
    public (double Score, int N) GetOrCompute(string modelFolder, string evalFile, string metric, int? limit,
        Func<(double Score, int N)> compute)
    {
        ArgumentNullException.ThrowIfNull(compute);
        var key = Key(modelFolder, evalFile, metric, limit);
        var path = Path.Combine(directory, key + ".json");
        if (File.Exists(path))
        {
            try
            {
                var json = JsonNode.Parse(File.ReadAllText(path))!;
                return (json["score"]!.GetValue<double>(), json["n"]!.GetValue<int>());
            }
            catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException or NullReferenceException)
            {
                // A damaged entry is recomputed.
            }
        }

        var result = compute();
        Directory.CreateDirectory(directory);
        var temporary = path + "." + Environment.ProcessId + ".tmp";
        File.WriteAllText(temporary, new JsonObject { ["score"] = result.Score, ["n"] = result.N }.ToJsonString());
        File.Move(temporary, path, overwrite: true);
        hashes.Save(Path.Combine(directory, "content-hashes.tsv"));
        return result;
    }

    private string Key(string modelFolder, string evalFile, string metric, int? limit)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"engine {EngineInfo.Version} {typeof(BaselineCache).Assembly.ManifestModule.ModuleVersionId}\n");
        text.Append(CultureInfo.InvariantCulture, $"metric {metric} limit {limit}\neval {hashes.Hash(evalFile)}\n");
        foreach (var file in Directory.GetFiles(modelFolder).Where(f => !Path.GetFileName(f).StartsWith('.')).Order(StringComparer.Ordinal))
        {
            text.Append(Path.GetFileName(file)).Append(' ').Append(hashes.Hash(file)).Append('\n');
        }

        return Convert.ToHexStringLower(XxHash128.Hash(Encoding.UTF8.GetBytes(text.ToString())));
    }
}
