using System.Reflection;

namespace MergeBuild;

/// <summary>The engine's identity, recorded in outputs and (later) in fingerprints.</summary>
public static class EngineInfo
{
    /// <summary>The informational version of MergeBuild.Core, without build metadata.</summary>
    public static string Version { get; } =
        (typeof(EngineInfo).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
         ?? "0.0.0").Split('+')[0];

    /// <summary>
    /// The engine assembly's module version id: it changes whenever the engine's code changes (builds are
    /// deterministic), so a development build never reuses outputs of different code under the same version.
    /// </summary>
    public static string BuildId { get; } = typeof(EngineInfo).Assembly.ManifestModule.ModuleVersionId.ToString("N");
}
