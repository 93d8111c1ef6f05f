using System.Security;
using MergeBuild.Tests;

namespace MergeBuild.Tasks.Tests;

/// <summary>
/// A throw-away app project in a temporary folder that uses MergeBuild's props and targets from this repository with
/// the task assembly and CLI of this test run, exactly as the package's build/ folder wires them.
/// </summary>
internal sealed class ConsumerProject : IDisposable
{
    private readonly TempFolder folder = new();

    public ConsumerProject(params (string Name, string Yaml)[] recipes)
    {
        foreach (var (name, yaml) in recipes)
        {
            WriteRecipe(name, yaml);
        }

        WriteProject(recipes.Select(r => r.Name).ToArray());
        File.WriteAllText(PathOf("Program.cs"), "System.Console.WriteLine(\"ok\");\n");
    }

    public string Directory => folder.Path;

    public string PathOf(params string[] parts) => folder.Combine(parts);

    public string ModelFolder(string name) => PathOf("obj", "Debug", "net10.0", "models", name);

    public string BinModelFolder(string name) => PathOf("bin", "Debug", "net10.0", "models", name);

    public void WriteRecipe(string name, string yaml) =>
        File.WriteAllText(PathOf(name + ".yml"), yaml.Replace("{models}", ModelsRoot, StringComparison.Ordinal));

    /// <summary>Rewrites the project with one ModelMerge item per recipe name.</summary>
    public void WriteProject(params string[] recipeNames)
    {
        var bin = AppContext.BaseDirectory;
        var build = Path.Combine(RepositoryRoot, "build");
        var items = string.Concat(recipeNames.Select(n => $"\n    <ModelMerge Include=\"{n}.yml\" />"));
        File.WriteAllText(PathOf("App.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <MergeBuildTaskAssembly>{Escape(Path.Combine(bin, "MergeBuild.Tasks.dll"))}</MergeBuildTaskAssembly>
                <MergeBuildCliPath>{Escape(Path.Combine(bin, "mergebuild.dll"))}</MergeBuildCliPath>
              </PropertyGroup>
              <Import Project="{Escape(Path.Combine(build, "MergeBuild.props"))}" />
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <IsPackable>true</IsPackable>
                <PackageId>App</PackageId>
                <Version>1.0.0</Version>
              </PropertyGroup>
              <ItemGroup>{items}
              </ItemGroup>
              <Import Project="{Escape(Path.Combine(build, "MergeBuild.targets"))}" />
            </Project>
            """);
    }

    public DotnetCommand.Result Build(params string[] extra) =>
        DotnetCommand.Run(Directory, ["build", "-nr:false", "-v:n", "-clp:PerformanceSummary", .. extra]);

    public DotnetCommand.Result Build(IReadOnlyDictionary<string, string> environment, params string[] extra) =>
        DotnetCommand.Run(Directory, environment, ["build", "-nr:false", "-v:n", "-clp:PerformanceSummary", .. extra]);

    public void Dispose() => folder.Dispose();

    public static string ModelsRoot => Path.Combine(Fixtures.Root, "models").Replace('\\', '/');

    public static string RepositoryRoot => Path.GetDirectoryName(Fixtures.Root)!;

    private static string Escape(string text) => SecurityElement.Escape(text);
}
