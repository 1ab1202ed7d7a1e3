using Parley.Xmpp.Core;
using Parley.Xmpp.Xml;

namespace Parley.Xmpp.FileTransfer;

/// <summary>
/// One Jingle session with a single file content, as initiator (sender) or responder (receiver). It owns its state:
/// the dispatch loop reports what the peer sent through its <c>On…</c> methods, and the task that runs the session
/// waits on the matching tasks. Nothing else completes them.
/// </summary>
internal sealed class JingleSession(Jid self, Jid peer, string sid, bool weInitiated, string contentName, string contentCreator, XmppElement description, CancellationTokenSource? abort)
{
    private readonly TaskCompletionSource<XmppElement> _accepted = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<JingleReason> _terminated = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _received = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource<XmppElement?> _transportAnswer = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _terminateSent;
    private S5bNegotiation? _s5b;

    public Jid Self => self;

    public Jid Peer => peer;

    public string Sid => sid;

    public bool WeInitiated => weInitiated;

    public Jid Initiator => weInitiated ? self : peer;

    public string ContentName => contentName;

    public string ContentCreator => contentCreator;

    public XmppElement Description => description;

    /// <summary>The peer's session-accept of our offer.</summary>
    public Task<XmppElement> Accepted => _accepted.Task;

    /// <summary>The peer's session-terminate, with its reason.</summary>
    public Task<JingleReason> Terminated => _terminated.Task;

    /// <summary>Completed when the receiver of our file sent <c>&lt;received/&gt;</c> (XEP-0234 §7).</summary>
    public Task ReceivedConfirmation => _received.Task;

    /// <summary>The SOCKS5 transport being negotiated, or null (none offered, or replaced by in-band bytestreams).</summary>
    public S5bNegotiation? S5b => Volatile.Read(ref _s5b);

    /// <summary>The transfer we receive in this session (responder only), once the offer was accepted.</summary>
    public IncomingSession? Incoming { get; private set; }

    /// <summary>The peer accepted our offer; false when it already had.</summary>
    public bool OnAccept(XmppElement jingle) => _accepted.TrySetResult(jingle);

    /// <summary>The receiver confirmed our file.</summary>
    public void OnReceived() => _received.TrySetResult();

    /// <summary>The peer's transport-accept (the element) or transport-reject (null) of our transport-replace.</summary>
    public void OnTransportAnswer(XmppElement? jingle) => Volatile.Read(ref _transportAnswer).TrySetResult(jingle);

    /// <summary>Starts waiting for the answer to a transport-replace about to be sent.</summary>
    public Task<XmppElement?> ExpectTransportAnswer()
    {
        var answer = new TaskCompletionSource<XmppElement?>(TaskCreationOptions.RunContinuationsAsynchronously);
        Volatile.Write(ref _transportAnswer, answer);
        return answer.Task;
    }

    /// <summary>The peer ended the session: stop what runs (a success only ends the wait for the verdict).</summary>
    public void OnTerminated(JingleReason reason)
    {
        if (_terminated.TrySetResult(reason) && !reason.IsSuccess && abort is not null)
        {
            try
            {
                abort.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // The send already finished.
            }
        }

        DropS5b();
    }

    /// <summary>True the first time: our session-terminate is to be sent (once per session, and not after the peer's).</summary>
    public bool TryClaimTerminate() => Interlocked.Exchange(ref _terminateSent, 1) == 0 && !_terminated.Task.IsCompleted;

    public void UseS5b(S5bNegotiation negotiation) => Volatile.Write(ref _s5b, negotiation);

    /// <summary>Ends the SOCKS5 negotiation (replaced, failed or the session ended).</summary>
    public void DropS5b() => Interlocked.Exchange(ref _s5b, null)?.Dispose();

    /// <summary>The transfer the accepted offer feeds.</summary>
    public void Receive(IncomingSession incoming) => Incoming = incoming;
}
