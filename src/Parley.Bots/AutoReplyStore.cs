using System.Text.Json;
using Parley.Xmpp.Core;

namespace Parley.Bots;

/// <summary>
/// When the auto-reply bot last answered each contact, kept in a small JSON file so the "once per period" rule
/// survives restarts. Written atomically (a temporary file renamed over the old one); entries older than the
/// period are dropped on every write, and at most <see cref="MaxEntries"/> contacts are kept.
/// </summary>
public sealed class AutoReplyStore
{
    /// <summary>The most contacts remembered; the oldest are dropped beyond it.</summary>
    public const int MaxEntries = 100_000;

    private const long MaxFileBytes = 16 * 1024 * 1024;
    private readonly string _path;
    private readonly Dictionary<string, DateTimeOffset> _lastReply = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _lock = new(1, 1);

    /// <summary>Creates the store for a file (created on the first write).</summary>
    /// <param name="path">The JSON file.</param>
    public AutoReplyStore(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        _path = Path.GetFullPath(path);
    }

    /// <summary>Loads the file if it exists.</summary>
    /// <param name="cancellationToken">Cancels reading.</param>
    /// <exception cref="InvalidDataException">The file is not a store written by this class, or is too large.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public async Task LoadAsync(CancellationToken cancellationToken = default)
    {
        if (!File.Exists(_path))
        {
            return;
        }

        if (new FileInfo(_path).Length > MaxFileBytes)
        {
            throw new InvalidDataException($"'{_path}' is larger than {MaxFileBytes} bytes; not an auto-reply store.");
        }

        var stream = File.OpenRead(_path);
        await using (stream.ConfigureAwait(false))
        {
            Dictionary<string, DateTimeOffset>? entries;
            try
            {
                entries = await JsonSerializer.DeserializeAsync(stream, AutoReplyJson.Default.DictionaryStringDateTimeOffset, cancellationToken).ConfigureAwait(false);
            }
            catch (JsonException ex)
            {
                throw new InvalidDataException($"'{_path}' is not a valid auto-reply store: {ex.Message}", ex);
            }

            await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                _lastReply.Clear();
                foreach (var (jid, when) in entries ?? [])
                {
                    if (Jid.TryParse(jid, out var parsed))
                    {
                        _lastReply[parsed.Bare.ToString()] = when;
                    }
                }
            }
            finally
            {
                _lock.Release();
            }
        }
    }

    /// <summary>
    /// Records a reply to <paramref name="contact"/> at <paramref name="now"/> unless one was recorded less than
    /// <paramref name="period"/> ago, and saves. Returns whether the caller should reply.
    /// </summary>
    /// <param name="contact">The contact (bare or full).</param>
    /// <param name="now">The current time.</param>
    /// <param name="period">How long one reply lasts.</param>
    /// <param name="cancellationToken">Cancels saving.</param>
    /// <exception cref="IOException">The file cannot be written (the reply is then not recorded).</exception>
    public async Task<bool> TryClaimAsync(Jid contact, DateTimeOffset now, TimeSpan period, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(contact);
        var key = contact.Bare.ToString();
        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_lastReply.TryGetValue(key, out var last) && now - last < period && last <= now)
            {
                return false;
            }

            _lastReply[key] = now;
            foreach (var expired in _lastReply.Where(e => now - e.Value >= period).Select(e => e.Key).ToList())
            {
                _lastReply.Remove(expired);
            }

            foreach (var oldest in _lastReply.OrderBy(e => e.Value).Take(Math.Max(0, _lastReply.Count - MaxEntries)).Select(e => e.Key).ToList())
            {
                _lastReply.Remove(oldest);
            }

            try
            {
                await SaveAsync(cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                _lastReply.Remove(key);
                throw;
            }

            return true;
        }
        finally
        {
            _lock.Release();
        }
    }

    private async Task SaveAsync(CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(_path)!);
        var temporary = _path + ".tmp";
        var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None);
        await using (stream.ConfigureAwait(false))
        {
            await JsonSerializer.SerializeAsync(stream, _lastReply, AutoReplyJson.Default.DictionaryStringDateTimeOffset, cancellationToken).ConfigureAwait(false);
            await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
            stream.Flush(flushToDisk: true);
        }

        File.Move(temporary, _path, overwrite: true);
    }
}

[System.Text.Json.Serialization.JsonSerializable(typeof(Dictionary<string, DateTimeOffset>))]
internal sealed partial class AutoReplyJson : System.Text.Json.Serialization.JsonSerializerContext;
