using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Parley.Xmpp.Core;
using Parley.Xmpp.Stanzas;
using Parley.Xmpp.Xml;

namespace Parley.Xmpp.FileTransfer;

/// <summary>
/// The Jingle sessions in progress, by peer and session id, and what every session sends and waits for alike: one-way
/// notifications (session-terminate, session-info, transport answers), work after an IQ was acknowledged, and waiting
/// for the peer's answer with its session-terminate as the alternative.
/// </summary>
internal sealed class JingleSessions(XmppEndpoint endpoint, FileTransferOptions options, ILogger logger)
{
    /// <summary>How long a one-way notification (session-terminate, checksum, received, transport answer) waits for its acknowledgement.</summary>
    private static readonly TimeSpan NotificationTimeout = TimeSpan.FromSeconds(10);

    private readonly ConcurrentDictionary<(string Peer, string Sid), JingleSession> _sessions = new();
    private readonly CancellationTokenSource _stop = new();

    public bool TryAdd(JingleSession session) => _sessions.TryAdd(Key(session.Peer, session.Sid), session);

    public void Add(JingleSession session) => _sessions[Key(session.Peer, session.Sid)] = session;

    public bool Contains(Jid peer, string sid) => _sessions.ContainsKey(Key(peer, sid));

    public bool TryGet(Jid peer, string sid, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out JingleSession? session) => _sessions.TryGetValue(Key(peer, sid), out session);

    /// <summary>Forgets <paramref name="session"/> (not another one that took its id since).</summary>
    public void Remove(JingleSession session) => _sessions.TryRemove(new KeyValuePair<(string, string), JingleSession>(Key(session.Peer, session.Sid), session));

    /// <summary>Sends our session-terminate once per session, unless the peer ended it first; failures are logged (the peer may be gone).</summary>
    public Task TerminateQuietlyAsync(JingleSession session, JingleReason reason)
        => session.TryClaimTerminate() ? SendQuietlyAsync(session, JingleElement.Terminate(session.Sid, reason)) : Task.CompletedTask;

    /// <summary>Sends a Jingle IQ that needs no answer but its acknowledgement; failures are logged.</summary>
    public async Task SendQuietlyAsync(JingleSession session, XmppElement jingle)
    {
        try
        {
            await endpoint.SendIqAsync(new Iq(IqType.Set, session.Peer, jingle), NotificationTimeout, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is XmppStanzaException or TimeoutException or XmppTransportException)
        {
            JingleLog.SendFailed(logger, session.Sid, jingle.GetAttribute("action") ?? "?", session.Peer, ex.Message);
        }
    }

    /// <summary>
    /// Runs <paramref name="work"/> off the dispatch loop, after the current IQ handler returned: the acknowledgement is
    /// queued as the handler returns, and the work needs a thread-pool hop and a policy decision or I/O before it sends.
    /// </summary>
    public void AfterAck(JingleSession session, string what, Func<CancellationToken, Task> work) => _ = Task.Run(async () =>
    {
        try
        {
            await work(_stop.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is XmppTransportException or XmppStanzaException or TimeoutException or OperationCanceledException or ObjectDisposedException or IOException)
        {
            JingleLog.SendFailed(logger, session.Sid, what, session.Peer, ex.Message);
        }
    });

    /// <summary>Waits for an answer of the peer; a session-terminate instead ends the wait with the matching error.</summary>
    /// <exception cref="FileTransferException">No answer within <see cref="FileTransferOptions.NegotiationTimeout"/>, or the peer ended the session.</exception>
    public async Task<T> WaitForAsync<T>(JingleSession session, Task<T> answer, string what, CancellationToken cancellationToken)
    {
        try
        {
            await Task.WhenAny(answer, session.Terminated).WaitAsync(options.NegotiationTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException ex)
        {
            throw new FileTransferException(FileTransferError.Timeout, $"{session.Peer} did not {what} in time.", ex);
        }

        if (answer.IsCompletedSuccessfully)
        {
            return answer.Result;
        }

        var reason = await session.Terminated.ConfigureAwait(false);
        throw new FileTransferException(ErrorFor(reason), $"{session.Peer} ended the session instead of answering: {reason}.");
    }

    /// <summary>
    /// Cancels the token handed to work queued with <see cref="AfterAck"/>. The token source stays usable: the last
    /// session-terminates, queued while the manager is disposed, still go out.
    /// </summary>
    public Task StopAsync() => _stop.CancelAsync();

    /// <summary>The error a send fails with when the peer ends the session for <paramref name="reason"/> before the data.</summary>
    public static FileTransferError ErrorFor(JingleReason reason) => reason.Condition switch
    {
        "decline" or "busy" => FileTransferError.Declined,
        "unsupported-applications" or "unsupported-transports" or "incompatible-parameters" => FileTransferError.NoCommonMethod,
        "timeout" or "expired" => FileTransferError.Timeout,
        "failed-transport" or "connectivity-error" => FileTransferError.StreamFailed,
        _ => FileTransferError.Aborted,
    };

    /// <summary>The session-terminate reason that tells the peer about <paramref name="error"/>.</summary>
    public static JingleReason ReasonFor(FileTransferException error) => error.Error switch
    {
        FileTransferError.Declined => new JingleReason("decline", error.Message),
        FileTransferError.NoCommonMethod => new JingleReason("unsupported-transports", error.Message),
        FileTransferError.StreamFailed => new JingleReason("failed-transport", error.Message),
        FileTransferError.SizeMismatch or FileTransferError.HashMismatch => new JingleReason("media-error", error.Message),

        // XEP-0234 §9.2 (File too Large): a receiver out of room says media-error with <file-too-large/>. Other storage
        // failures (an I/O error, a folder not writable) are ours in processing the file: failed-application.
        FileTransferError.StorageFailed => IncomingSink.IsOutOfSpace(error)
            ? new JingleReason("media-error", error.Message, FileTooLarge: true)
            : new JingleReason("failed-application", error.Message),
        FileTransferError.Timeout => new JingleReason("timeout", error.Message),
        FileTransferError.Protocol => new JingleReason("failed-application", error.Message),
        _ => new JingleReason("cancel", error.Message),
    };

    private static (string, string) Key(Jid peer, string sid) => (peer.ToString(), sid);
}
