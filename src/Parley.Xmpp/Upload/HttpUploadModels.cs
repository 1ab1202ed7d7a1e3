using Parley.Xmpp.Core;

namespace Parley.Xmpp.Upload;

/// <summary>An HTTP upload service (XEP-0363) found through service discovery.</summary>
/// <param name="Jid">The service's address, e.g. <c>upload.example.org</c>.</param>
/// <param name="MaxFileSize">The largest file it accepts in bytes, when its disco#info says (XEP-0128 <c>max-file-size</c>).</param>
public sealed record HttpUploadService(Jid Jid, long? MaxFileSize);

/// <summary>An upload slot (XEP-0363 §5): where to PUT the file, the headers the PUT must carry, and where it can be fetched.</summary>
/// <param name="PutUrl">The URL to PUT the file to.</param>
/// <param name="PutHeaders">The allowed headers (Authorization, Cookie, Expires) in the order the service gave them, newlines removed.</param>
/// <param name="GetUrl">The URL the file can be downloaded from once uploaded.</param>
public sealed record HttpUploadSlot(Uri PutUrl, IReadOnlyList<KeyValuePair<string, string>> PutHeaders, Uri GetUrl);

/// <summary>The settings of <see cref="HttpUpload"/>.</summary>
public sealed class HttpUploadOptions
{
    /// <summary>How long one HTTP PUT may take in total. Default 10 minutes.</summary>
    public TimeSpan PutTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>How many disco#items of the server are asked for disco#info while looking for the service. Default 32.</summary>
    public int MaxItemsToProbe { get; set; } = 32;

    /// <summary>How long each disco query may take. Default 10 s.</summary>
    public TimeSpan DiscoTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Use this service instead of discovering one (skips disco#items; disco#info still reads its limit).</summary>
    public Jid? Service { get; set; }

    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(PutTimeout, TimeSpan.Zero, nameof(PutTimeout));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(DiscoTimeout, TimeSpan.Zero, nameof(DiscoTimeout));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxItemsToProbe, 0, nameof(MaxItemsToProbe));
    }
}
