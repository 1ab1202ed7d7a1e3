using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Parley.Xmpp.Core;

namespace Parley.Xmpp.FileTransfer;

/// <summary>
/// The accepted incoming transfers, by sender and stream id. A Jingle transfer is known under its session id and, once
/// in-band bytestreams carry it, under the stream's id too. Reports each transfer once when it ends.
/// </summary>
internal sealed class IncomingTransfers(FileTransferOptions options, ILogger logger)
{
    private readonly ConcurrentDictionary<(string Peer, string Sid), IncomingSession> _sessions = new();

    /// <summary>Raised once per transfer, when it ended (kept, failed or aborted).</summary>
    public event Action<IncomingFileTransferEventArgs>? Ended;

    public int Count => _sessions.Count;

    /// <summary>A transfer for an accepted offer, not yet known under any id.</summary>
    /// <param name="offer">The offer as accepted.</param>
    /// <param name="decision">Where the file goes.</param>
    /// <param name="checksumFollows">See <see cref="IncomingSession.ChecksumFollows"/>.</param>
    /// <param name="concludeWithSender">See <see cref="IncomingSession.ConcludeWithSender"/>.</param>
    public IncomingSession Create(IncomingFileOffer offer, FileOfferDecision decision, bool checksumFollows = false,
        Func<IncomingSession, IncomingFileTransferEventArgs, IncomingFileTransferEventArgs>? concludeWithSender = null)
        => new(offer, decision, options, OnEnded) { ChecksumFollows = checksumFollows, ConcludeWithSender = concludeWithSender };

    /// <summary>Knows <paramref name="session"/> under (<paramref name="peer"/>, <paramref name="sid"/>); false when that id is taken.</summary>
    public bool TryAdd(Jid peer, string sid, IncomingSession session) => _sessions.TryAdd(Key(peer, sid), session);

    public bool TryGet(Jid peer, string sid, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out IncomingSession? session)
        => _sessions.TryGetValue(Key(peer, sid), out session);

    public bool Contains(Jid peer, string sid) => _sessions.ContainsKey(Key(peer, sid));

    /// <summary>Ends every transfer as aborted (the manager is disposed).</summary>
    public async Task AbortAllAsync()
    {
        foreach (var session in _sessions.Values.Distinct())
        {
            await session.FinishAsync(new FileTransferException(FileTransferError.Aborted, "The file-transfer manager was disposed.")).ConfigureAwait(false);
        }
    }

    private static (string, string) Key(Jid peer, string sid) => (peer.ToString(), sid);

    private void OnEnded(IncomingSession session, IncomingFileTransferEventArgs args)
    {
        foreach (var entry in _sessions)
        {
            if (ReferenceEquals(entry.Value, session))
            {
                _sessions.TryRemove(entry);
            }
        }

        if (session.ConcludeWithSender is { } conclude)
        {
            args = conclude(session, args);
        }

        FileTransferLog.IncomingEnded(logger, args.ToString());
        Ended?.Invoke(args);
    }
}
