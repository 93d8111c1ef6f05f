namespace MergeBuild.Benchmarks;

/// <summary>The process's peak resident set size, resettable between measurements (Linux; elsewhere a running peak).</summary>
public static class ProcessMemory
{
    /// <summary>Resets the kernel's high-water mark of resident memory (writes 5 to /proc/self/clear_refs).</summary>
    public static void ResetPeak()
    {
        if (OperatingSystem.IsLinux())
        {
            try
            {
                File.WriteAllText("/proc/self/clear_refs", "5");
            }
            catch (IOException)
            {
                // Not permitted in some containers: the peak then includes earlier measurements.
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
    }

    /// <summary>Peak resident bytes since the last <see cref="ResetPeak"/> (VmHWM), or the process's peak working set.</summary>
    public static long PeakBytes()
    {
        if (OperatingSystem.IsLinux())
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
            {
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                {
                    var kb = line["VmHWM:".Length..].Trim().Split(' ')[0];
                    return long.Parse(kb, System.Globalization.CultureInfo.InvariantCulture) * 1024;
                }
            }
        }

        using var process = System.Diagnostics.Process.GetCurrentProcess();
        return process.PeakWorkingSet64;
    }
}
