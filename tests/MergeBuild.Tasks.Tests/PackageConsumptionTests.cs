using System.IO.Compression;
using MergeBuild.Tests;

namespace MergeBuild.Tasks.Tests;

/// <summary>
/// The MergeBuild package, packed from this repository into a local folder feed and consumed through a
/// PackageReference exactly as from nuget.org: restore, build (merge), and the layout of the package itself.
/// </summary>
public class PackageConsumptionTests
{
    [Fact]
    public void The_packed_package_restores_from_a_folder_feed_and_merges_on_build()
    {
        using var temp = new TempFolder();
        var feed = temp.Combine("feed");
        var version = "0.1.0-test." + Guid.NewGuid().ToString("N")[..12];
        var tasksProject = Path.Combine(ConsumerProject.RepositoryRoot, "src", "MergeBuild.Tasks", "MergeBuild.Tasks.csproj");
        var pack = DotnetCommand.Run(temp.Path, "pack", tasksProject, "-c", "Release", "-nr:false", "-o", feed,
            $"-p:Version={version}", "--artifacts-path", temp.Combine("artifacts"));
        Assert.True(pack.ExitCode == 0, pack.ToString());

        var packagePath = Path.Combine(feed, $"MergeBuild.{version}.nupkg");
        using (var package = ZipFile.OpenRead(packagePath))
        {
            var entries = package.Entries.Select(e => e.FullName).ToHashSet();
            Assert.Contains("build/MergeBuild.props", entries);
            Assert.Contains("build/MergeBuild.targets", entries);
            Assert.Contains("buildTransitive/MergeBuild.targets", entries);
            Assert.Contains("tasks/net10.0/MergeBuild.Tasks.dll", entries);
            Assert.Contains("tasks/net10.0/MergeBuild.Tasks.deps.json", entries);
            Assert.Contains("tasks/net10.0/MergeBuild.Core.dll", entries);
            Assert.Contains("tasks/net10.0/YamlDotNet.dll", entries);
            Assert.Contains("tools/net10.0/mergebuild.dll", entries);
            Assert.Contains("tools/net10.0/mergebuild.runtimeconfig.json", entries);
            Assert.DoesNotContain(entries, e => e.StartsWith("lib/", StringComparison.Ordinal));
            Assert.DoesNotContain(entries, e => e.Contains("Microsoft.Build", StringComparison.Ordinal));
            using var nuspec = new StreamReader(package.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal)).Open());
            var text = nuspec.ReadToEnd();
            Assert.Contains("<developmentDependency>true</developmentDependency>", text, StringComparison.Ordinal);
        }

        var app = temp.Combine("app");
        Directory.CreateDirectory(app);
        File.WriteAllText(Path.Combine(app, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <config>
                <add key="globalPackagesFolder" value="{temp.Combine("packages")}" />
              </config>
              <packageSources>
                <clear />
                <add key="local" value="{feed}" />
              </packageSources>
            </configuration>
            """);
        File.WriteAllText(Path.Combine(app, "App.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="MergeBuild" Version="{version}" PrivateAssets="all" />
                <ModelMerge Include="assistant.yml" />
              </ItemGroup>
            </Project>
            """);
        File.WriteAllText(Path.Combine(app, "Program.cs"), "System.Console.WriteLine(\"ok\");\n");
        File.WriteAllText(Path.Combine(app, "assistant.yml"), $$"""
            merge_method: linear
            models:
              - model: {{ConsumerProject.ModelsRoot}}/shipping
                parameters: {weight: 1.0}
              - model: {{ConsumerProject.ModelsRoot}}/catalog
                parameters: {weight: 1.0}
            """);

        var build = DotnetCommand.Run(app, "build", "-nr:false");
        Assert.True(build.ExitCode == 0, build.ToString());
        Assert.Contains("assistant.yml → obj/Debug/net10.0/models/assistant: linear", build.Output.Replace('\\', '/'), StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(app, "bin", "Debug", "net10.0", "models", "assistant", "model.safetensors")));
    }
}
