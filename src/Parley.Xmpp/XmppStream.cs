using System.Buffers;
using System.IO.Pipelines;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Parley.Xmpp.Core;
using Parley.Xmpp.Stanzas;
using Parley.Xmpp.Xml;

namespace Parley.Xmpp;

/// <summary>
/// One XML stream over one transport: writes the stream header, reads top-level elements through the
/// parser, and owns the connection's single writer. During negotiation the engine reads and writes
/// directly; once running, every write goes through the writer queue so stanzas leave in order and
/// bursts share a flush.
/// </summary>
internal sealed class XmppStream : IAsyncDisposable
{
    private readonly XmlStreamParser _parser;
    private readonly ILogger _logger;
    private readonly Channel<Outgoing> _outgoing = Channel.CreateUnbounded<Outgoing>(new UnboundedChannelOptions { SingleReader = true });
    private readonly TaskCompletionSource _readerDone = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task? _writerTask;
    private volatile bool _closing;
    private volatile bool _readerStarted;
    private volatile bool _disposed;

    public XmppStream(XmppTransport transport, XmlLimits limits, string contentNamespace, ILogger logger)
    {
        Transport = transport;
        ContentNamespace = contentNamespace;
        _parser = new XmlStreamParser(limits, StanzaRootFactory.Instance);
        _logger = logger;
    }

    public XmppTransport Transport { get; }

    /// <summary>jabber:client or jabber:component:accept.</summary>
    public string ContentNamespace { get; }

    /// <summary>The id the server gave the current stream.</summary>
    public string? StreamId { get; private set; }

    /// <summary>
    /// Called by the writer, in wire order, after each element was serialized (stream management counts here).
    /// Returns whether the element is now tracked for retransmission; a tracked stanza's send completes at once,
    /// an untracked one when its bytes were flushed.
    /// </summary>
    public Func<XmppElement, bool>? ElementWritten { get; set; }

    /// <summary>Called by the writer when its queue ran empty after a flush.</summary>
    public Action? WriterIdle { get; set; }

    /// <summary>Sends a stream header and reads the server's; returns the server's header.</summary>
    public async Task<XmppElement> OpenAsync(string to, string? from, CancellationToken cancellationToken)
    {
        _parser.Reset();
        var buffer = new ArrayBufferWriter<byte>(256);
        XmlSerializer.WriteRaw(buffer, "<?xml version='1.0'?>");
        XmlSerializer.WriteOpenTag(
            buffer,
            "stream:stream",
            [(string.Empty, ContentNamespace), ("stream", XmppNamespaces.Streams)],
            [("to", to), ("from", from), ("version", ContentNamespace == XmppNamespaces.Component ? null : "1.0"), ("xml:lang", "en")]);
        if (_logger.IsEnabled(LogLevel.Trace))
        {
            Log.Sent(_logger, System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan));
        }

        await WriteBytesAsync(buffer.WrittenMemory, cancellationToken).ConfigureAwait(false);
        var (kind, header) = await ReadEventAsync(cancellationToken).ConfigureAwait(false);
        if (kind != XmlStreamEventKind.StreamHeader || header is null)
        {
            throw new XmppProtocolException("The server did not open a stream.", "invalid-xml");
        }

        if (_parser.StreamNamespace != ContentNamespace)
        {
            throw new XmppProtocolException($"The server opened a stream in namespace '{_parser.StreamNamespace}', expected '{ContentNamespace}'.", "invalid-namespace");
        }

        StreamId = header.GetAttribute("id");
        return header;
    }

    /// <summary>Reads the next top-level element (negotiation phase). A stream error becomes <see cref="XmppStreamErrorException"/>.</summary>
    public async Task<XmppElement> ReadElementAsync(CancellationToken cancellationToken)
    {
        var (kind, element) = await ReadEventAsync(cancellationToken).ConfigureAwait(false);
        return kind switch
        {
            XmlStreamEventKind.Element => ThrowIfStreamError(element!),
            XmlStreamEventKind.StreamEnd => throw new XmppTransportException("The server closed the stream.", isTransient: true),
            XmlStreamEventKind.Refused => throw new XmppProtocolException($"The server sent an element over the limits while the stream was set up: {_parser.RefusalReason}.", "policy-violation"),
            _ => throw new XmppProtocolException("The server opened a second stream header.", "invalid-xml"),
        };
    }

    /// <summary>
    /// Reads events until the stream ends, handing each element to <paramref name="onElement"/> in order, and each element
    /// refused for breaking a per-stanza limit to <paramref name="onRefused"/> with its envelope (null when unreadable) and
    /// the reason. Returns on a clean close.
    /// </summary>
    public async Task RunReaderAsync(Func<XmppElement, ValueTask> onElement, Action<XmppElement?, string> onRefused, CancellationToken cancellationToken)
    {
        _readerStarted = true;
        try
        {
            while (true)
            {
                var (kind, element) = await ReadEventAsync(cancellationToken).ConfigureAwait(false);
                if (kind == XmlStreamEventKind.StreamEnd)
                {
                    return;
                }

                if (kind == XmlStreamEventKind.Refused)
                {
                    onRefused(element, _parser.RefusalReason!);
                    continue;
                }

                if (kind != XmlStreamEventKind.Element)
                {
                    throw new XmppProtocolException("The server opened a second stream header.", "invalid-xml");
                }

                await onElement(ThrowIfStreamError(element!)).ConfigureAwait(false);
            }
        }
        finally
        {
            _readerDone.TrySetResult();
        }
    }

    private async ValueTask<(XmlStreamEventKind Kind, XmppElement? Element)> ReadEventAsync(CancellationToken cancellationToken)
    {
        var input = Transport.Input;
        while (true)
        {
            ReadResult result;
            try
            {
                result = await input.ReadAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (IOException ex)
            {
                throw new XmppTransportException($"The connection to {Transport.Remote} dropped: {ex.Message}", isTransient: true, ex);
            }
            catch (InvalidOperationException ex) when (_disposed)
            {
                // A completed pipe refuses reads: the stream was disposed under this reader, which is a closed link, not a bug.
                throw new ObjectDisposedException("The stream was closed while reading.", ex);
            }

            var buffer = result.Buffer;
            bool found;
            XmlStreamEventKind kind;
            XmppElement? element;
            try
            {
                found = _parser.TryRead(ref buffer, out kind, out element);
            }
            catch (XmppProtocolException)
            {
                input.AdvanceTo(buffer.Start, buffer.End);
                throw;
            }

            if (found)
            {
                input.AdvanceTo(buffer.Start);
                if (element is Stanza stanza)
                {
                    XmppInstruments.RecordReceived(stanza);
                }

                if (element is not null && _logger.IsEnabled(LogLevel.Trace))
                {
                    Log.Received(_logger, TrafficRedactor.ToLogString(element));
                }

                return (kind, element);
            }

            input.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCompleted || result.IsCanceled)
            {
                throw buffer.IsEmpty
                    ? new XmppTransportException($"The connection to {Transport.Remote} was closed by the server.", isTransient: true)
                    : new XmppTransportException($"The connection to {Transport.Remote} was closed in the middle of a stanza ({buffer.Length} bytes unfinished).", isTransient: true);
            }
        }
    }

    private static XmppElement ThrowIfStreamError(XmppElement element)
    {
        if (element.Name == "error" && element.Namespace == XmppNamespaces.Streams)
        {
            string? condition = null;
            string? text = null;
            foreach (var child in element.Children)
            {
                if (child.Namespace == XmppNamespaces.StreamErrors)
                {
                    if (child.Name == "text")
                    {
                        text = child.Text;
                    }
                    else
                    {
                        condition ??= child.Name;
                    }
                }
            }

            throw new XmppStreamErrorException(condition ?? "undefined-condition", text);
        }

        return element;
    }

    /// <summary>Writes one element and flushes (negotiation phase only, before <see cref="StartWriter"/>).</summary>
    public async Task WriteAsync(XmppElement element, CancellationToken cancellationToken)
    {
        if (_writerTask is not null)
        {
            throw new InvalidOperationException("The writer is running; enqueue instead.");
        }

        Serialize(element);
        await FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task UpgradeToTlsAsync(string targetHost, CancellationToken cancellationToken)
    {
        await Transport.UpgradeToTlsAsync(targetHost, cancellationToken).ConfigureAwait(false);
        _parser.Reset();
    }

    /// <summary>Starts the single writer; from now on use <see cref="Enqueue"/>.</summary>
    public void StartWriter(CancellationToken cancellationToken) => _writerTask = Task.Run(() => RunWriterAsync(cancellationToken), CancellationToken.None);

    /// <summary>Queues an element for the writer. <paramref name="completion"/>, if any, completes once it was flushed to the socket.</summary>
    public bool Enqueue(XmppElement element, TaskCompletionSource? completion = null) => _outgoing.Writer.TryWrite(new Outgoing(element, completion));

    private async Task RunWriterAsync(CancellationToken cancellationToken)
    {
        var written = new List<TaskCompletionSource>();
        var reader = _outgoing.Reader;
        try
        {
            while (await reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                while (reader.TryRead(out var item))
                {
                    Serialize(item.Element);
                    var tracked = ElementWritten?.Invoke(item.Element) ?? false;
                    if (tracked)
                    {
                        item.Completion?.TrySetResult();
                    }
                    else if (item.Completion is not null)
                    {
                        written.Add(item.Completion);
                    }

                    // Bound one flush so a long burst still reaches the wire in pieces.
                    if (Transport.Output.UnflushedBytes > 64 * 1024)
                    {
                        break;
                    }
                }

                await FlushAsync(cancellationToken).ConfigureAwait(false);
                foreach (var completion in written)
                {
                    completion.TrySetResult();
                }

                written.Clear();
                if (!reader.TryPeek(out _))
                {
                    WriterIdle?.Invoke();
                }
            }
        }
        catch (Exception ex) when (IsLinkGone(ex))
        {
            var failure = ex as XmppTransportException ?? new XmppTransportException("The connection closed before the stanza was written.", isTransient: true, ex);
            // Flushed or not, these bytes may never have left: without stream management nobody will re-send
            // them, so their senders must hear of it. What is still queued stays for DrainUnwritten.
            foreach (var completion in written)
            {
                completion.TrySetException(failure);
            }

            if (ex is not OperationCanceledException)
            {
                throw;
            }
        }
    }

    /// <summary>Elements queued but never written (after the connection died), in order, with their senders' completions.</summary>
    public List<(XmppElement Element, TaskCompletionSource? Completion)> DrainUnwritten()
    {
        _outgoing.Writer.TryComplete();
        var result = new List<(XmppElement, TaskCompletionSource?)>();
        while (_outgoing.Reader.TryRead(out var item))
        {
            result.Add((item.Element, item.Completion));
        }

        return result;
    }

    private void Serialize(XmppElement element)
    {
        if (_logger.IsEnabled(LogLevel.Trace))
        {
            Log.Sent(_logger, TrafficRedactor.ToLogString(element));
        }

        // Top-level stanzas are written in the stream's content namespace, so a stanza built for a client
        // can go out over a component stream unchanged.
        var scope = element is Stanza ? element.Namespace : ContentNamespace;
        XmlSerializer.WriteElement(Transport.Output, element, scope);
        if (element is Stanza stanza)
        {
            XmppInstruments.RecordSent(stanza);
        }
    }

    private async Task WriteBytesAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken)
    {
        Transport.Output.Write(bytes.Span);
        await FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task FlushAsync(CancellationToken cancellationToken)
    {
        try
        {
            await Transport.Output.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (IOException ex)
        {
            throw new XmppTransportException($"The connection to {Transport.Remote} dropped: {ex.Message}", isTransient: true, ex);
        }
    }

    /// <summary>
    /// Closes the stream politely: stops the writer after what is queued, sends the closing tag, waits briefly for the peer's.
    /// Waits at most <paramref name="wait"/>, and not at all once <paramref name="cancellationToken"/> is cancelled; the caller
    /// closes the socket after it either way.
    /// </summary>
    public async Task CloseAsync(TimeSpan wait, CancellationToken cancellationToken)
    {
        if (_closing)
        {
            return;
        }

        _closing = true;
        _outgoing.Writer.TryComplete();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(wait);
        try
        {
            if (_writerTask is not null)
            {
                await _writerTask.WaitAsync(timeout.Token).ConfigureAwait(false);
            }

            Transport.Output.Write("</stream:stream>"u8);
            await FlushAsync(timeout.Token).ConfigureAwait(false);

            // RFC 6120 4.4: wait for the server's closing tag before the socket goes. Closed at once, the connection can be
            // reset with our tag still unread on the server, which then takes it for a dropped link and, with stream
            // management, keeps the session waiting for a resumption (ejabberd: 300 s, the contacts see us online).
            if (_readerStarted)
            {
                await _readerDone.Task.WaitAsync(timeout.Token).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (IsLinkGone(ex))
        {
            // The link is already gone or too slow; closing the socket below is all that is left to do.
        }
    }

    public void Abort()
    {
        _closing = true;
        _outgoing.Writer.TryComplete();
        Transport.Abort();
    }

    public async ValueTask DisposeAsync()
    {
        _disposed = true;
        _outgoing.Writer.TryComplete();
        Transport.Abort();
        if (_writerTask is not null)
        {
            try
            {
                await _writerTask.ConfigureAwait(false);
            }
            catch (Exception ex) when (IsLinkGone(ex))
            {
                // Already reported to the senders whose stanzas it concerned.
            }
        }

        await Transport.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// Whether <paramref name="ex"/> says the link went away under a write or a close: a transport fault, a cancellation,
    /// or the completed pipes of a disposed stream (ObjectDisposedException, or InvalidOperationException for a write after
    /// completion). Anything else is a bug and is not caught.
    /// </summary>
    private bool IsLinkGone(Exception ex)
        => ex is XmppTransportException or OperationCanceledException or ObjectDisposedException || (ex is InvalidOperationException && _disposed);

    private readonly record struct Outgoing(XmppElement Element, TaskCompletionSource? Completion);
}
