using System.Runtime.InteropServices;

namespace MergeBuild.Caching;

/// <summary>
/// Hard links (link(2); CreateHardLinkW on Windows): a second name for a file's bytes, made without copying them.
/// Works only within one volume; callers copy when it fails.
/// </summary>
internal static partial class HardLink
{
    /// <summary>Makes <paramref name="link"/> a new name of <paramref name="existing"/>; false when it cannot.</summary>
    public static bool TryCreate(string existing, string link)
    {
        try
        {
            return OperatingSystem.IsWindows()
                ? CreateHardLinkW(link, existing, 0)
                : Link(existing, link) == 0;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    [LibraryImport("libc", EntryPoint = "link", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Link(string existing, string link);

    [LibraryImport("kernel32.dll", StringMarshalling = StringMarshalling.Utf16)]
    [return: MarshalAs(UnmanagedType.Bool)]
    private static partial bool CreateHardLinkW(string link, string existing, nint securityAttributes);
}
