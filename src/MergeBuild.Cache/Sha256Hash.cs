using System.Security.Cryptography;

namespace MergeBuild.Caching;

/// <summary>
/// SHA-256 content addresses. The cache uses a cryptographic hash (unlike the XxHash128 fingerprints of inputs)
/// because feeds are shared and may be written by others: a match must mean the bytes are the ones published.
/// </summary>
public static class Sha256Hash
{
    private const int BufferBytes = 1 << 20;

    /// <summary>Lowercase hex SHA-256 of a whole file.</summary>
    public static string OfFile(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    /// <summary>True when <paramref name="text"/> looks like a hash this cache writes (64 lowercase hex digits).</summary>
    public static bool IsWellFormed(string? text) =>
        text is { Length: 64 } && text.All(c => char.IsAsciiDigit(c) || c is >= 'a' and <= 'f');

    /// <summary>
    /// Copies up to <paramref name="maxBytes"/> bytes from <paramref name="source"/> to <paramref name="destination"/>,
    /// feeding them to every hash in <paramref name="hashes"/>; returns the count copied. One more byte than the limit
    /// is read, so a source longer than promised is noticed (the count then exceeds the limit) without reading it all.
    /// </summary>
    public static long CopyHashing(Stream source, Stream destination, long maxBytes, params IncrementalHash[] hashes)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(destination);
        ArgumentNullException.ThrowIfNull(hashes);
        var buffer = new byte[BufferBytes];
        long total = 0;
        while (total <= maxBytes)
        {
            var want = (int)Math.Min(buffer.Length, maxBytes + 1 - total);
            var read = source.Read(buffer, 0, want);
            if (read == 0)
            {
                break;
            }

            foreach (var hash in hashes)
            {
                hash.AppendData(buffer, 0, read);
            }

            destination.Write(buffer, 0, read);
            total += read;
        }

        return total;
    }

    public static string Hex(IncrementalHash hash)
    {
        ArgumentNullException.ThrowIfNull(hash);
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }
}
