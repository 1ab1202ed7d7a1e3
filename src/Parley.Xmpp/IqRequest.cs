using Microsoft.Extensions.Logging;
using Parley.Xmpp.Core;
using Parley.Xmpp.Stanzas;
using Parley.Xmpp.Xml;

namespace Parley.Xmpp;

/// <summary>Handles an incoming IQ request. Return the result payload (or <see langword="null"/> for an empty result); throw <see cref="XmppStanzaException"/> to answer with that error.</summary>
/// <param name="request">The request.</param>
/// <param name="cancellationToken">Cancelled when the connection is disposed.</param>
public delegate ValueTask<Xml.XmppElement?> IqRequestHandler(Iq request, CancellationToken cancellationToken);

/// <summary>
/// Handles an incoming IQ request that may be answered later: the handler takes the request, returns quickly so that the
/// following stanzas are dispatched, and answers through <see cref="IqRequest.RespondAsync"/> or
/// <see cref="IqRequest.RespondErrorAsync"/> when it can (or hands the work to <see cref="IqRequest.AnswerInBackground"/>).
/// Throwing before answering answers at once: <see cref="XmppStanzaException"/> with its error, anything else with
/// internal-server-error.
/// </summary>
/// <param name="request">The request; answer it exactly once.</param>
/// <param name="cancellationToken">Cancelled when the connection is disposed.</param>
public delegate ValueTask DeferredIqRequestHandler(IqRequest request, CancellationToken cancellationToken);

/// <summary>
/// An IQ request (get or set) taken by a <see cref="DeferredIqRequestHandler"/>, to be answered once. A request still not
/// answered when its time is up gets an internal-server-error answer, so the requester never waits forever.
/// </summary>
public sealed partial class IqRequest
{
    private readonly XmppEndpoint _endpoint;
    private readonly CancellationTokenSource _deadline = new();
    private int _answered;

    internal IqRequest(XmppEndpoint endpoint, Iq stanza, TimeSpan timeout)
    {
        _endpoint = endpoint;
        Stanza = stanza;
        Timeout = timeout;
        _deadline.Token.Register(static state => ((IqRequest)state!).OnTimeout(), this);
        _deadline.CancelAfter(timeout);
    }

    /// <summary>The request.</summary>
    public Iq Stanza { get; }

    /// <summary>How long the request may stay unanswered before the endpoint answers it with internal-server-error.</summary>
    public TimeSpan Timeout { get; }

    /// <summary>Whether an answer was sent (or is being sent).</summary>
    public bool IsAnswered => Volatile.Read(ref _answered) != 0;

    /// <summary>Completes when the request was answered, by the handler or by the timeout.</summary>
    public Task Answered => _answeredSource.Task;

    private readonly TaskCompletionSource _answeredSource = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Answers with a result carrying <paramref name="payload"/> (an empty result when <see langword="null"/>).</summary>
    /// <param name="payload">The result payload.</param>
    /// <param name="cancellationToken">Cancels the send.</param>
    /// <exception cref="InvalidOperationException">The request was already answered (or timed out).</exception>
    /// <exception cref="XmppTransportException">The connection failed while sending.</exception>
    public Task RespondAsync(XmppElement? payload, CancellationToken cancellationToken = default) =>
        AnswerAsync(Stanza.CreateResult(payload), cancellationToken);

    /// <summary>Answers with an error.</summary>
    /// <param name="error">The error.</param>
    /// <param name="cancellationToken">Cancels the send.</param>
    /// <exception cref="InvalidOperationException">The request was already answered (or timed out).</exception>
    /// <exception cref="XmppTransportException">The connection failed while sending.</exception>
    public Task RespondErrorAsync(StanzaError error, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(error);
        return AnswerAsync(Stanza.CreateError(error), cancellationToken);
    }

    /// <summary>
    /// Runs <paramref name="work"/> off the dispatch loop and answers with what it returns, with its
    /// <see cref="XmppStanzaException"/>'s error, or with internal-server-error when it fails otherwise (logged).
    /// </summary>
    /// <param name="work">Computes the result payload; gets a token cancelled when the connection is disposed or the request times out.</param>
    /// <param name="cancellationToken">The connection's token (the one the handler got).</param>
    public void AnswerInBackground(Func<CancellationToken, ValueTask<XmppElement?>> work, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(work);
        _ = Task.Run(() => RunAsync(work, cancellationToken), CancellationToken.None);
    }

    /// <summary>Answers after the handler returned or threw: the handler's exception, else nothing (it answers later).</summary>
    internal async Task CompleteHandlerAsync(Exception? failure, CancellationToken cancellationToken)
    {
        if (failure is null)
        {
            return;
        }

        if (IsAnswered)
        {
            // It answered and then failed: the answer stands, the failure is logged.
            LogHandlerFailed(_endpoint.Logger, Describe(), failure);
            return;
        }

        await TryAnswerQuietlyAsync(ErrorFor(failure), cancellationToken).ConfigureAwait(false);
    }

    private async Task RunAsync(Func<CancellationToken, ValueTask<XmppElement?>> work, CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _deadline.Token);
        Iq answer;
        try
        {
            answer = Stanza.CreateResult(await work(linked.Token).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return;
        }
        catch (Exception ex)
        {
            answer = ErrorFor(ex);
        }

        await TryAnswerQuietlyAsync(answer, cancellationToken).ConfigureAwait(false);
    }

    private Iq ErrorFor(Exception failure)
    {
        if (failure is XmppStanzaException stanzaError)
        {
            return Stanza.CreateError(stanzaError.Error);
        }

        LogHandlerFailed(_endpoint.Logger, Describe(), failure);
        return Stanza.CreateError(StanzaError.InternalServerError());
    }

    private async Task AnswerAsync(Iq answer, CancellationToken cancellationToken)
    {
        if (!TryClaimAnswer())
        {
            throw new InvalidOperationException($"The IQ request {Stanza.Id} was already answered.");
        }

        await SendAnswerAsync(answer, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Makes this caller the one that answers; false when an answer was already sent or is being sent.</summary>
    private bool TryClaimAnswer() => Interlocked.Exchange(ref _answered, 1) == 0;

    private async Task SendAnswerAsync(Iq answer, CancellationToken cancellationToken)
    {
        await _deadline.CancelAsync().ConfigureAwait(false);
        try
        {
            await _endpoint.SendAsync(answer, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _answeredSource.TrySetResult();
        }
    }

    private async Task TryAnswerQuietlyAsync(Iq answer, CancellationToken cancellationToken)
    {
        if (!TryClaimAnswer())
        {
            return; // Answered meanwhile (by the handler or the timeout); the first answer stands.
        }

        try
        {
            await SendAnswerAsync(answer, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is XmppTransportException or OperationCanceledException)
        {
            // The connection went away; the requester will time out or re-send.
            LogAnswerFailed(_endpoint.Logger, Stanza.Id ?? "?", ex.Message);
        }
    }

    private void OnTimeout()
    {
        if (IsAnswered)
        {
            return;
        }

        LogTimedOut(_endpoint.Logger, Describe(), Timeout);
        _ = TryAnswerQuietlyAsync(Stanza.CreateError(StanzaError.InternalServerError("The request was not answered in time.")), CancellationToken.None);
    }

    private string Describe() => Stanza.Payload is { } payload ? $"IQ <{payload.Name} xmlns='{payload.Namespace}'/> {Stanza.Id}" : $"IQ {Stanza.Id}";

    [LoggerMessage(2006, LogLevel.Error, "A deferred {Request} handler failed; answered internal-server-error")]
    private static partial void LogHandlerFailed(ILogger logger, string request, Exception exception);

    [LoggerMessage(2007, LogLevel.Warning, "The deferred {Request} was not answered within {Timeout}; answered internal-server-error")]
    private static partial void LogTimedOut(ILogger logger, string request, TimeSpan timeout);

    [LoggerMessage(2008, LogLevel.Debug, "Could not answer the deferred IQ {Id}: {Reason}")]
    private static partial void LogAnswerFailed(ILogger logger, string id, string reason);
}
