using System.Globalization;
using MergeBuild.Fuzzing;
using MergeBuild.Fuzzing.Targets;

// dotnet run --project tests/MergeBuild.Fuzz -c Release -- <target> [--minutes N] [--seconds N] [--corpus DIR]
//   [--seed N] [--artifacts DIR] [--max-execs N]
// Targets: safetensors, index, config, tokenizer, recipe. Exit code 0: no crash and no hang; 2: crashes or hangs.
var targets = new Dictionary<string, Func<IFuzzTarget>>(StringComparer.Ordinal)
{
    ["safetensors"] = () => new SafetensorsTarget(),
    ["index"] = () => new ShardIndexTarget(),
    ["config"] = () => new ModelConfigTarget(),
    ["tokenizer"] = () => new TokenizerTarget(),
    ["recipe"] = () => new RecipeTarget(),
};

if (args.Length == 0 || !targets.TryGetValue(args[0], out var create))
{
    Console.Error.WriteLine($"usage: MergeBuild.Fuzz <{string.Join('|', targets.Keys)}> [--minutes N] [--seconds N] " +
                            "[--corpus DIR] [--seed N] [--artifacts DIR] [--max-execs N]");
    return 1;
}

var name = args[0];
var options = new FuzzOptions
{
    Duration = TimeSpan.FromMinutes(1),
    CorpusFolder = RepoFiles.Corpus(name),
    ArtifactsFolder = Path.Combine(Path.GetTempPath(), "mergebuild-fuzz", name),
    Log = Console.Out,
};
for (var i = 1; i + 1 < args.Length; i += 2)
{
    var value = args[i + 1];
    options = args[i] switch
    {
        "--minutes" => options with { Duration = TimeSpan.FromMinutes(double.Parse(value, CultureInfo.InvariantCulture)) },
        "--seconds" => options with { Duration = TimeSpan.FromSeconds(double.Parse(value, CultureInfo.InvariantCulture)) },
        "--corpus" => options with { CorpusFolder = Path.GetFullPath(value) },
        "--seed" => options with { Seed = int.Parse(value, CultureInfo.InvariantCulture) },
        "--artifacts" => options with { ArtifactsFolder = Path.GetFullPath(value) },
        "--max-execs" => options with { MaxExecs = long.Parse(value, CultureInfo.InvariantCulture) },
        _ => throw new ArgumentException($"unknown option '{args[i]}'"),
    };
}

using var target = create();
var summary = new FuzzRun(target, options).Run();
Console.WriteLine(summary);
return summary.Crashes == 0 && summary.Hangs == 0 ? 0 : 2;
