using System.Globalization;
using Parley.Xmpp.Core;
using Parley.Xmpp.Stanzas;
using Parley.Xmpp.Xml;

namespace Parley.Xmpp;

/// <summary>
/// When stream management asks for and gives acknowledgements: an &lt;r/&gt; after a burst (at once for a long one, after a
/// short quiet period otherwise), a stream closed when its &lt;r/&gt; stays unanswered, and answers to the server's &lt;r/&gt;
/// that wait briefly so one &lt;a/&gt; covers a run of stanzas.
/// </summary>
internal sealed partial class ClientSession
{
    /// <summary>
    /// Unacknowledged stanzas after which the end of a burst asks for an acknowledgement at once (fewer wait for
    /// <see cref="AckDelay"/>). Each &lt;r/&gt; costs the server a nonza in and an &lt;a/&gt; out: under in-band file transfer, asking
    /// after every 5 stanzas made Prosody run 4 % more code per block than asking after 16 to 256 (which cost alike). The
    /// stanzas kept for a resend stay bounded by this plus what is in flight.
    /// </summary>
    private const int AckBurst = 32;
    private static readonly TimeSpan AckDelay = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// How long an answer to the server's &lt;r/&gt; waits: the server asks again each time its output drains while we owe
    /// it an answer, so under a stream of stanzas (in-band file transfer) an immediate answer doubles the elements it
    /// handles. A short wait makes one &lt;a/&gt; cover everything that arrived meanwhile; a graceful close still sends a last one.
    /// </summary>
    private static readonly TimeSpan AckAnswerDelay = TimeSpan.FromMilliseconds(50);

    /// <summary>The stream an answer to &lt;r/&gt; is pending for (a new stream after a reconnect gets its own).</summary>
    private XmppStream? _ackAnswerFor;

    /// <summary>
    /// Our last &lt;r/&gt; and the stream it went out on, until an &lt;a/&gt; answers it. Per stream: a request that a lost
    /// stream took with it does not keep the next stream from asking.
    /// </summary>
    private AckRequest? _ackRequest;

    private void ApplyAck(string? value)
    {
        if (!uint.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var h) || !_sm.OnAck(h))
        {
            throw new XmppProtocolException($"The server acknowledged an invalid stanza count '{value}'.", "undefined-condition");
        }

        Volatile.Write(ref _ackRequest, null);
    }

    private bool AckRequested(XmppStream stream) => ReferenceEquals(Volatile.Read(ref _ackRequest)?.Stream, stream);

    private void RequestAck(XmppStream stream)
    {
        var request = new AckRequest(stream);
        Volatile.Write(ref _ackRequest, request);
        if (stream.Enqueue(new XmppElement("r", XmppNamespaces.StreamManagement)) && _options.AckTimeout > TimeSpan.Zero)
        {
            _ = WatchAckAsync(request);
        }
    }

    private async Task RequestAckLaterAsync(XmppStream stream)
    {
        if (await WaitWhileConnectedAsync(AckDelay).ConfigureAwait(false) && IsCurrentStream(stream) && _sm.Enabled && !AckRequested(stream) && _sm.UnackedCount > 0)
        {
            RequestAck(stream);
        }
    }

    /// <summary>
    /// Closes the request's stream when the request is still unanswered after <see cref="XmppClientOptions.AckTimeout"/>.
    /// The next connection starts a new session rather than resume: a server that reads our stream but no longer answers
    /// on it (Prosody 0.12 after resuming a connection cut in the middle of a stanza parses nothing more) would take the
    /// resumed stream into the same dead end, and from here a dead link looks the same.
    /// </summary>
    private async Task WatchAckAsync(AckRequest request)
    {
        if (!await WaitWhileConnectedAsync(_options.AckTimeout).ConfigureAwait(false)
            || !ReferenceEquals(Volatile.Read(ref _ackRequest), request) || !IsCurrentStream(request.Stream))
        {
            return;
        }

        Log.AckTimedOut(Logger, _options.AckTimeout, _sm.UnackedCount);
        _sm.ForgetResumption();
        request.Stream.Abort();
    }

    protected override bool HandleNonza(XmppStream stream, XmppElement element)
    {
        if (element.Namespace != XmppNamespaces.StreamManagement)
        {
            return false;
        }

        switch (element.Name)
        {
            case "r":
                if (!ReferenceEquals(Interlocked.Exchange(ref _ackAnswerFor, stream), stream))
                {
                    _ = AnswerAckLaterAsync(stream);
                }

                return true;
            case "a":
                ApplyAck(element.GetAttribute("h"));
                return true;
            default:
                return false;
        }
    }

    protected override void OnStanzaReceived(XmppStream stream, Stanza stanza) => _sm.OnStanzaReceived();

    // XEP-0198 §4: an <a/> right before a graceful close, or the server takes what arrived since the last one for lost
    // (Prosody stores such messages offline again or bounces them; the next login would see them twice).
    protected override void OnClosing(XmppStream stream)
    {
        if (_sm.Enabled)
        {
            SendAck(stream);
        }
    }

    private async Task AnswerAckLaterAsync(XmppStream stream)
    {
        var waited = await WaitWhileConnectedAsync(AckAnswerDelay).ConfigureAwait(false);
        Interlocked.CompareExchange(ref _ackAnswerFor, null, stream);

        // Not waited: disconnecting, and the close sends its own last ack.
        if (waited)
        {
            SendAck(stream);
        }
    }

    private void SendAck(XmppStream stream)
    {
        var ack = new XmppElement("a", XmppNamespaces.StreamManagement);
        ack.SetAttribute("h", _sm.InboundHandled.ToString(CultureInfo.InvariantCulture));
        stream.Enqueue(ack);
    }

    protected override IReadOnlyList<Stanza> OnStreamLost(bool willReconnect)
    {
        if (willReconnect)
        {
            return [];
        }

        var lost = _sm.TakeUnacked();
        _sm.FailWaiters(new XmppTransportException("The connection ended before the server acknowledged every stanza.", isTransient: true));
        return lost;
    }

    /// <summary>
    /// With stream management, the server's acknowledgement of the last stanza written (asked for at once); it waits
    /// across a resumption or a new session, which send the unacknowledged stanzas again. Without, a ping round trip.
    /// </summary>
    public override Task ConfirmSentAsync(CancellationToken cancellationToken)
    {
        if (_sm.WhenAllAcknowledged() is not { } acknowledged)
        {
            return base.ConfirmSentAsync(cancellationToken);
        }

        if (!acknowledged.IsCompleted && CurrentStream is { } stream && _sm.Enabled && !AckRequested(stream))
        {
            RequestAck(stream);
        }

        return acknowledged.WaitAsync(cancellationToken);
    }

    /// <summary>One &lt;r/&gt; of ours (compared by reference), and the stream it went out on.</summary>
    private sealed class AckRequest(XmppStream stream)
    {
        public XmppStream Stream { get; } = stream;
    }
}
