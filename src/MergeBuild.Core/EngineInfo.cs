using System.Reflection;

namespace MergeBuild;

/// <summary>The engine's identity, recorded in outputs and (later) in fingerprints.</summary>
public static class EngineInfo
{
    /// <summary>The informational version of MergeBuild.Core, without build metadata.</summary>
    public static string Version { get; } =
        (typeof(EngineInfo).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
         ?? "0.0.0").Split('+')[0];
}
