namespace MergeBuild.Caching;

/// <summary>Where the local cache lives when no folder is given: one per user, shared by every project and branch.</summary>
public static class CacheLocation
{
    /// <summary>Environment variable that moves the local cache.</summary>
    public const string Variable = "MERGEBUILD_CACHE";

    /// <summary>
    /// <c>$MERGEBUILD_CACHE</c>, else <c>%LOCALAPPDATA%\MergeBuild\cache</c> on Windows, else
    /// <c>$XDG_CACHE_HOME/mergebuild</c> or <c>~/.cache/mergebuild</c>.
    /// </summary>
    public static string Default(Func<string, string?> environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        if (environment(Variable) is { Length: > 0 } configured)
        {
            return Path.GetFullPath(configured);
        }

        if (OperatingSystem.IsWindows())
        {
            return Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData,
                Environment.SpecialFolderOption.DoNotVerify), "MergeBuild", "cache");
        }

        if (environment("XDG_CACHE_HOME") is { Length: > 0 } xdg && Path.IsPathRooted(xdg))
        {
            return Path.Combine(xdg, "mergebuild");
        }

        var home = environment("HOME") is { Length: > 0 } h ? h : Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        return Path.Combine(home, ".cache", "mergebuild");
    }
}
