using System.Security.Cryptography;
using System.Text;
using MergeBuild.Diagnostics;
using NuGet.Common;
using HashAlgorithmName = System.Security.Cryptography.HashAlgorithmName;
using NuGet.Packaging;
using NuGet.Protocol;
using NuGet.Protocol.Core.Types;

namespace MergeBuild.Caching;

/// <summary>Publishing a local entry to the feed: the parts it lacks, then the manifest.</summary>
public sealed partial class FeedCache
{
    /// <summary>
    /// Pushes the local entry to the feed: parts the feed lacks, then the manifest. Returns the number of packages
    /// pushed (0 when the feed already had the merge). The local blobs are re-hashed on the way: a damaged local
    /// file is never published.
    /// </summary>
    public async Task<int> PublishAsync(CacheManifest entry, LocalCache local, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entry);
        ArgumentNullException.ThrowIfNull(local);
        if (await HasAsync(entry.Fingerprint, cancellationToken).ConfigureAwait(false))
        {
            return 0;
        }

        if (Feed.IsFolder)
        {
            Directory.CreateDirectory(Feed.Source.Source);
        }

        using var cache = NewCacheContext();
        var finder = await FinderAsync(cancellationToken).ConfigureAwait(false);
        var pushed = 0;
        var files = new List<CachedFile>();
        foreach (var file in entry.Files)
        {
            var parts = new List<FilePart>();
            using var blob = new FileStream(local.BlobPath(file.Sha256), FileMode.Open, FileAccess.Read, FileShare.Read);
            using var whole = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var offset = 0L;
            do
            {
                var size = Math.Min(partBytes, file.Size - offset);
                var partFile = local.NewTemporaryPath();
                try
                {
                    string partSha;
                    using (var target = new FileStream(partFile, FileMode.CreateNew, FileAccess.Write, FileShare.None))
                    using (var part = IncrementalHash.CreateHash(HashAlgorithmName.SHA256))
                    {
                        blob.Position = offset;
                        Sha256Hash.CopyHashing(new BoundedStream(blob, size), target, size, part, whole);
                        partSha = Sha256Hash.Hex(part);
                    }

                    parts.Add(new FilePart(partSha, size));
                    var id = FeedPackages.BlobId(partSha);
                    if (!await finder.DoesPackageExistAsync(id, FeedPackages.Version, cache, NullLogger.Instance,
                            cancellationToken).ConfigureAwait(false))
                    {
                        await PushAsync(id, $"A part of a file cached by MergeBuild (SHA-256 {partSha}).", partFile,
                            FeedPackages.PartEntry, local, cancellationToken).ConfigureAwait(false);
                        pushed++;
                    }
                }
                finally
                {
                    File.Delete(partFile);
                }

                offset += size;
            }
            while (offset < file.Size);

            if (Sha256Hash.Hex(whole) != file.Sha256)
            {
                throw new MergeBuildException(ErrorCodes.CacheEntryDamaged,
                    $"the cached file '{file.Path}' does not match its hash; it was not published.",
                    new SourceLocation(local.BlobPath(file.Sha256)), "Run 'mergebuild cache verify' and build again.");
            }

            files.Add(file with { Parts = parts });
        }

        var manifestFile = local.NewTemporaryPath();
        try
        {
            await File.WriteAllTextAsync(manifestFile, (entry with { Files = files }).ToJson(), new UTF8Encoding(false),
                cancellationToken).ConfigureAwait(false);
            await PushAsync(FeedPackages.ManifestId(entry.Fingerprint),
                $"The file list of the merge {entry.Fingerprint}, cached by MergeBuild.", manifestFile,
                FeedPackages.ManifestEntry, local, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            File.Delete(manifestFile);
        }

        return pushed + 1;
    }

    private async Task PushAsync(string id, string description, string contentFile, string entry, LocalCache local,
        CancellationToken cancellationToken)
    {
        var folder = local.NewTemporaryPath();
        Directory.CreateDirectory(folder);
        try
        {
            var nupkg = Path.Combine(folder, $"{id}.{FeedPackages.Version}.nupkg");
            FeedPackages.Build(id, description, contentFile, entry, nupkg);
            var updater = await repository.GetResourceAsync<PackageUpdateResource>(cancellationToken).ConfigureAwait(false) ??
                          throw new MergeBuildException(ErrorCodes.CacheSettings, $"the feed {Feed.Display} does not accept pushes.",
                              hint: "Publish to a folder feed or a NuGet server with a push endpoint.");
            var key = apiKey ?? Feed.ApiKey();
            await updater.Push([nupkg], symbolSource: null, timeoutInSecond: 600, disableBuffering: false,
                getApiKey: _ => key, getSymbolApiKey: _ => null, noServiceEndpoint: false, skipDuplicate: true,
                symbolPackageUpdateResource: null, log: NullLogger.Instance).ConfigureAwait(false);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
