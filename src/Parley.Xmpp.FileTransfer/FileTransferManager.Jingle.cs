using System.Collections.Concurrent;
using System.Diagnostics;
using System.Security.Cryptography;
using Parley.Xmpp.Im;
using Parley.Xmpp.Stanzas;
using Parley.Xmpp.Xml;

namespace Parley.Xmpp.FileTransfer;

/// <summary>
/// Jingle file transfer (XEP-0166 sessions, XEP-0234 file offers) over the SOCKS5 (XEP-0260) and in-band (XEP-0261)
/// transports, and the choice between Jingle and SI. The bytes travel through the same SOCKS5 and in-band engines as SI.
/// </summary>
public sealed partial class FileTransferManager
{
    private readonly ConcurrentDictionary<(string Peer, string Sid), JingleSession> _jingle = new();
    private readonly ConcurrentDictionary<IncomingSession, JingleSession> _jingleIncoming = new();
    private readonly CancellationTokenSource _jingleStop = new();

    private static string NewSid() => "parley-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12));

    private void AttachJingle(XmppEndpoint endpoint)
    {
        endpoint.SetIqHandler("jingle", FileTransferNamespaces.Jingle, OnJingleAsync);
        endpoint.Disco.AddFeature(FileTransferNamespaces.JingleFileTransfer);
        if (_options.ReceiveMethods.Contains(FileTransferMethod.Socks5Bytestreams))
        {
            endpoint.Disco.AddFeature(FileTransferNamespaces.JingleS5b);
        }

        if (_options.ReceiveMethods.Contains(FileTransferMethod.InBandBytestreams))
        {
            endpoint.Disco.AddFeature(FileTransferNamespaces.JingleIbb);
        }
    }

    /// <summary>
    /// Plans a send: the methods to try in order of preference (Jingle, SI, HTTP upload, as first listed in
    /// <paramref name="methods"/>), each with its receiver. Jingle goes to a resource announcing Jingle file transfer with a
    /// transport we may use, SI to one announcing SI (or, when nothing later is listed, to any resource: some clients do
    /// not announce it), the HTTP link to <paramref name="to"/> as given. A method the receiver does not announce stays in the
    /// plan as a skipped step (logged), so that it is reported only when the send gets past it.
    /// </summary>
    /// <exception cref="FileTransferException">No method is possible (no online resource, nothing announced and no HTTP upload).</exception>
    private async Task<List<SendStep>> PlanAsync(XmppEndpoint endpoint, Jid to, FileTransferMethod[] methods, string name, CancellationToken cancellationToken)
    {
        static FileTransferMethod FamilyOf(FileTransferMethod method) => method is FileTransferMethod.InBandBytestreams ? FileTransferMethod.Socks5Bytestreams : method;
        var families = methods.Select(FamilyOf).Distinct().ToList();
        var allowJingle = families.Contains(FileTransferMethod.Jingle);
        var allowSi = families.Contains(FileTransferMethod.Socks5Bytestreams);
        var allowHttp = families.Contains(FileTransferMethod.HttpUpload);
        var transports = TransportsOf(methods);
        List<(Jid Resource, DiscoInfo? Info)> resources = [];
        var plan = new List<SendStep>();
        var discoDone = false;
        if (allowJingle || allowSi)
        {
            if (to.IsBare)
            {
                if (endpoint is not XmppClient client)
                {
                    throw new ArgumentException("Files go to a full JID (one client) when sending from a component.", nameof(to));
                }

                resources.AddRange((await client.Capabilities.GetResourcesInfoAsync(to, cancellationToken).ConfigureAwait(false)).Select(r => (r.Resource, (DiscoInfo?)r.Info)));
                discoDone = true;
                if (resources.Count == 0)
                {
                    var why = $"{to} has no online resource that answered disco";
                    if (!allowHttp)
                    {
                        throw new FileTransferException(FileTransferError.NoCommonMethod, why + "; send to a full JID.");
                    }

                    Skip(allowJingle ? FileTransferMethod.Jingle : FileTransferMethod.Socks5Bytestreams, why);
                }
            }
            else if (!allowJingle && !allowHttp)
            {
                resources.Add((to, null));
            }
            else
            {
                DiscoInfo? info = null;
                try
                {
                    info = endpoint is XmppClient client
                        ? await client.Capabilities.GetInfoAsync(to, cancellationToken).ConfigureAwait(false)
                        : await endpoint.Disco.QueryInfoAsync(to, cancellationToken: cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is XmppStanzaException or TimeoutException)
                {
                    JingleLog.ResourceSkipped(_logger, to, "disco failed: " + ex.Message);
                }

                discoDone = true;
                resources.Add((to, info));
            }
        }

        for (var i = 0; i < families.Count; i++)
        {
            var laterFamilies = families.Skip(i + 1).Any(f => f != FileTransferMethod.Jingle || resources.Count > 0);
            switch (families[i])
            {
                case FileTransferMethod.Jingle when resources.Count > 0:
                    string? missing = null;
                    foreach (var (resource, info) in resources)
                    {
                        missing = JingleSupport(info, transports);
                        if (missing is null)
                        {
                            JingleLog.MethodChosen(_logger, resource, FileTransferMethod.Jingle, "it announces urn:xmpp:jingle:1, Jingle file transfer (ft:5) and a transport we may use");
                            plan.Add(new SendStep(FileTransferMethod.Jingle, resource));
                            break;
                        }

                        JingleLog.ResourceSkipped(_logger, resource, "no Jingle: " + missing);
                    }

                    if (missing is not null)
                    {
                        Skip(FileTransferMethod.Jingle, $"{to} does not announce Jingle file transfer ({missing})");
                    }

                    break;
                case FileTransferMethod.Socks5Bytestreams when resources.Count > 0:
                    var si = resources.FirstOrDefault(r => r.Info is { } i && i.Supports(FileTransferNamespaces.FileTransferProfile));
                    if (si.Resource is not null)
                    {
                        JingleLog.MethodChosen(_logger, si.Resource, FileTransferMethod.Socks5Bytestreams, "SI file transfer is announced");
                        plan.Add(new SendStep(FileTransferMethod.Socks5Bytestreams, si.Resource));
                    }
                    else if (!discoDone || (!plan.Exists(step => step.Skipped is null) && !laterFamilies))
                    {
                        // Nothing better is possible: some clients take SI without announcing it.
                        JingleLog.MethodChosen(_logger, resources[0].Resource, FileTransferMethod.Socks5Bytestreams, discoDone ? "nothing better is announced; trying SI" : "only SI methods are allowed for this send");
                        plan.Add(new SendStep(FileTransferMethod.Socks5Bytestreams, resources[0].Resource));
                    }
                    else
                    {
                        Skip(FileTransferMethod.Socks5Bytestreams, $"{to} does not announce SI file transfer");
                    }

                    break;
                case FileTransferMethod.HttpUpload:
                    plan.Add(new SendStep(FileTransferMethod.HttpUpload, to));
                    break;
            }
        }

        if (plan.TrueForAll(step => step.Skipped is not null))
        {
            throw new FileTransferException(FileTransferError.NoCommonMethod, allowSi
                ? $"{to} announces none of the allowed methods: {string.Join("; ", plan.Select(step => step.Skipped))}."
                : $"{to} does not announce Jingle file transfer, and SI is not allowed for this send.");
        }

        return plan;

        void Skip(FileTransferMethod method, string why)
        {
            FileTransferLog.MethodSkipped(_logger, name, to, method, why);
            plan.Add(new SendStep(method, to, new FileTransferAttempt(method, null, why)));
        }
    }

    /// <summary>One method of a send plan and the address it goes to; <see cref="Skipped"/> when the receiver does not announce it.</summary>
    private readonly record struct SendStep(FileTransferMethod Method, Jid To, FileTransferAttempt? Skipped = null);

    /// <summary>Why <paramref name="info"/> rules Jingle out, or <see langword="null"/> when it announces everything needed.</summary>
    private static string? JingleSupport(DiscoInfo? info, IReadOnlyList<FileTransferMethod> transports)
    {
        if (info is null)
        {
            return "its features are unknown";
        }

        if (!info.Supports(FileTransferNamespaces.Jingle))
        {
            return "urn:xmpp:jingle:1 not announced";
        }

        if (!info.Supports(FileTransferNamespaces.JingleFileTransfer))
        {
            return "urn:xmpp:jingle:apps:file-transfer:5 not announced";
        }

        var s5b = transports.Contains(FileTransferMethod.Socks5Bytestreams) && info.Supports(FileTransferNamespaces.JingleS5b);
        var ibb = transports.Contains(FileTransferMethod.InBandBytestreams) && info.Supports(FileTransferNamespaces.JingleIbb);
        return s5b || ibb ? null : "no Jingle transport in common (s5b:1 / ibb:1)";
    }

    /// <summary>The bytestreams a Jingle session may use: those listed, or both when only Jingle is listed.</summary>
    private static FileTransferMethod[] TransportsOf(IReadOnlyList<FileTransferMethod> methods)
    {
        var transports = methods.Where(m => m is FileTransferMethod.Socks5Bytestreams or FileTransferMethod.InBandBytestreams).ToArray();
        return transports.Length > 0 ? transports : [FileTransferMethod.Socks5Bytestreams, FileTransferMethod.InBandBytestreams];
    }

    private async Task<FileTransferResult> SendJingleAsync(XmppEndpoint endpoint, Jid self, Jid to, Stream content, string name, long size, FileSendOptions options,
        IReadOnlyList<FileTransferMethod> methods, string? sha256, IProgress<FileTransferProgress>? progress, CancellationToken cancellationToken)
    {
        var transports = TransportsOf(methods);
        var allowIbb = transports.Contains(FileTransferMethod.InBandBytestreams);
        var sid = NewSid();
        var file = new JingleFile(FileNames.Sanitize(name), size, options.MimeType, options.LastModified, options.Description, sha256, sha256 is null);
        using var abort = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var session = new JingleSession(self, to, sid, weInitiated: true, JingleElement.ContentName, "initiator", file.ToDescription(), abort);
        var key = (to.ToString(), sid);
        _jingle[key] = session;
        var counter = new SendCounter(size, progress, KnownSha256(options));
        var started = Stopwatch.GetTimestamp();
        var transport = transports.Contains(FileTransferMethod.Socks5Bytestreams) ? FileTransferMethod.Socks5Bytestreams : FileTransferMethod.InBandBytestreams;
        string? fallback = null;
        Task? checksumSent = null;
        try
        {
            if (transport == FileTransferMethod.Socks5Bytestreams)
            {
                session.S5b = await PrepareS5bAsync(endpoint, session, sid, abort.Token).ConfigureAwait(false);
                if (session.S5b.LocalCandidates.Count == 0 && allowIbb)
                {
                    // Nothing to offer (no listener, no proxy): the peer may still have candidates, but XEP-0260 needs ours too.
                    fallback = "no SOCKS5 candidate to offer";
                    session.S5b.Dispose();
                    session.S5b = null;
                    transport = FileTransferMethod.InBandBytestreams;
                }
            }

            var ibb = new IbbTransport(sid, _options.IbbBlockSize);
            var initiate = JingleElement.Create(JingleActions.SessionInitiate, sid, initiator: self);
            var offered = JingleElement.AddContent(initiate, session.ContentName);
            offered.Add(file.ToDescription());
            offered.Add(session.S5b?.LocalTransport(initiator: true) ?? ibb.ToElement());
            JingleLog.Offering(_logger, file.Name, size, to, sid, transport);
            try
            {
                await endpoint.SendIqAsync(new Iq(IqType.Set, to, initiate), _options.NegotiationTimeout, abort.Token).ConfigureAwait(false);
            }
            catch (XmppStanzaException ex)
            {
                throw new FileTransferException(ex.Condition is "forbidden" or "not-acceptable" ? FileTransferError.Declined : FileTransferError.NoCommonMethod,
                    $"{to} refused the Jingle offer ({ex.Error}).", ex);
            }

            var accept = await WaitForAsync(session, session.Accepted.Task, "accept the offer", abort.Token).ConfigureAwait(false);
            var acceptedContent = accept.Element("content");
            if (transport == FileTransferMethod.Socks5Bytestreams)
            {
                var s5b = session.S5b!;
                if (acceptedContent?.Element("transport", FileTransferNamespaces.JingleS5b) is { } theirs)
                {
                    s5b.SetRemote(S5bTransport.Parse(theirs));
                }

                var socket = await s5b.NegotiateAsync(abort.Token).ConfigureAwait(false);
                if (socket is not null)
                {
                    using (socket)
                    {
                        // The checksum goes out as the last byte does, while the receiver still reads: it has it when it needs it.
                        await CopyToSocketAsync(content, socket, size, counter, abort.Token, StartChecksum).ConfigureAwait(false);
                    }
                }
                else if (allowIbb)
                {
                    fallback = s5b.FailureReason;
                    JingleLog.ReplacingTransport(_logger, sid, to, fallback ?? "?");
                    ibb = await ReplaceWithIbbAsync(endpoint, session, abort.Token).ConfigureAwait(false);
                    transport = FileTransferMethod.InBandBytestreams;
                }
                else
                {
                    throw new FileTransferException(FileTransferError.StreamFailed, $"No SOCKS5 candidate worked with {to}: {s5b.FailureReason}");
                }
            }
            else
            {
                var answered = acceptedContent?.Element("transport", FileTransferNamespaces.JingleIbb) is { } theirs ? IbbTransport.Parse(theirs) : ibb;
                if (answered.Sid != ibb.Sid || answered.BlockSize > ibb.BlockSize)
                {
                    throw new FileTransferException(FileTransferError.Protocol, $"{to} accepted with an in-band transport we did not offer (sid {answered.Sid}, block-size {answered.BlockSize}).");
                }

                ibb = answered;
            }

            if (transport == FileTransferMethod.InBandBytestreams)
            {
                FileTransferLog.Sending(_logger, file.Name, size, to, ibb.Sid, transport);
                await SendIbbAsync(endpoint, to, ibb.Sid, content, size, counter, abort.Token, ibb.BlockSize).ConfigureAwait(false);
            }

            var hash = counter.Finish();
            StartChecksum();
            if (checksumSent is not null)
            {
                await checksumSent.ConfigureAwait(false);
            }

            // The receiver confirms with <received/> and/or ends the session once it has checked the file (XEP-0234 §7; Dino
            // ends it when it has read the size). Silence means it took the bytes but kept no file: Dino 0.4.2 acknowledges
            // every in-band block after its own download already failed, so only the missing confirmation tells.
            JingleReason verdict;
            await ((Task)Task.WhenAny(session.Terminated.Task, session.ReceivedConfirmation.Task)
                .WaitAsync(_options.JingleConfirmationTimeout, cancellationToken)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            if (session.Terminated.Task.IsCompletedSuccessfully)
            {
                verdict = session.Terminated.Task.Result;
            }
            else if (session.ReceivedConfirmation.Task.IsCompleted)
            {
                verdict = new JingleReason("success");
                await TerminateQuietlyAsync(endpoint, session, verdict).ConfigureAwait(false);
            }
            else
            {
                cancellationToken.ThrowIfCancellationRequested();
                await TerminateQuietlyAsync(endpoint, session, new JingleReason("timeout", "No confirmation that the file was received")).ConfigureAwait(false);
                throw new FileTransferException(FileTransferError.Timeout,
                    $"{to} took all {counter.Read} bytes over {transport} but never confirmed the file (no <received/> or session-terminate within "
                    + $"{_options.JingleConfirmationTimeout.TotalSeconds:0} s): its client most likely failed to store it.");
            }

            if (!verdict.IsSuccess)
            {
                throw new FileTransferException(verdict is { Condition: "media-error", FileTooLarge: false } ? FileTransferError.HashMismatch : FileTransferError.Aborted,
                    $"{to} did not accept the file it received: {verdict}.");
            }

            var elapsed = Stopwatch.GetElapsedTime(started);
            FileTransferLog.Sent(_logger, counter.Read, to, sid, transport, elapsed);
            return new FileTransferResult(sid, FileTransferMethod.Jingle, counter.Read, hash, elapsed, fallback) { Transport = transport };
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested && session.Terminated.Task.IsCompletedSuccessfully)
        {
            var reason = session.Terminated.Task.Result;
            throw new FileTransferException(counter.Read == 0 ? ErrorFor(reason) : ErrorAfterData(reason), $"{to} ended the session after {counter.Acknowledged} of {size} bytes: {reason}.", ex);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await TerminateQuietlyAsync(endpoint, session, new JingleReason("cancel")).ConfigureAwait(false);
            throw;
        }
        catch (FileTransferException ex)
        {
            if (session.Terminated.Task.IsCompletedSuccessfully && ex.Error is not (FileTransferError.Declined or FileTransferError.NoCommonMethod or FileTransferError.HashMismatch))
            {
                throw new FileTransferException(ErrorAfterData(session.Terminated.Task.Result), $"{to} ended the session: {session.Terminated.Task.Result}.", ex);
            }

            await TerminateQuietlyAsync(endpoint, session, ReasonFor(ex)).ConfigureAwait(false);
            throw;
        }
        catch (Exception ex) when (ex is IOException or XmppStanzaException or TimeoutException)
        {
            await TerminateQuietlyAsync(endpoint, session, new JingleReason(ex is IOException ? "media-error" : "general-error", ex.Message)).ConfigureAwait(false);
            throw;
        }
        finally
        {
            _jingle.TryRemove(new KeyValuePair<(string, string), JingleSession>(key, session));
            session.S5b?.Dispose();
        }

        // media-error once every byte is delivered is the receiver rejecting the content (its hash check), as in the verdict
        // above; it may arrive while we still wait for the stream's end. With <file-too-large/> it had no room to store it.
        FileTransferError ErrorAfterData(JingleReason reason) =>
            reason is { Condition: "media-error", FileTooLarge: false } && counter.Acknowledged == size ? FileTransferError.HashMismatch : FileTransferError.Aborted;

        // XEP-0234 §8: an offer with <hash-used/> is followed by a session-info <checksum/> with the value, once every
        // byte was read (and hashed). Failures are logged: the receiver then reports the missing checksum itself.
        void StartChecksum()
        {
            if (file.HashUsed && checksumSent is null && counter.Read == size)
            {
                var info = JingleElement.Create(JingleActions.SessionInfo, sid, initiator: self);
                var checksum = info.AddChild("checksum", FileTransferNamespaces.JingleFileTransfer);
                checksum.SetAttribute("creator", "initiator");
                checksum.SetAttribute("name", session.ContentName);
                checksum.AddChild("file", FileTransferNamespaces.JingleFileTransfer).Add(JingleFile.HashElement(counter.Finish()));
                checksumSent = SendQuietlyAsync(endpoint, session, info);
            }
        }
    }

    /// <summary>Waits for an answer of the peer; a session-terminate instead ends the send with the matching error.</summary>
    private async Task<T> WaitForAsync<T>(JingleSession session, Task<T> answer, string what, CancellationToken cancellationToken)
    {
        try
        {
            await Task.WhenAny(answer, session.Terminated.Task).WaitAsync(_options.NegotiationTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException ex)
        {
            throw new FileTransferException(FileTransferError.Timeout, $"{session.Peer} did not {what} in time.", ex);
        }

        if (answer.IsCompletedSuccessfully)
        {
            return answer.Result;
        }

        var reason = await session.Terminated.Task.ConfigureAwait(false);
        throw new FileTransferException(ErrorFor(reason), $"{session.Peer} ended the session instead of answering: {reason}.");
    }

    private static FileTransferError ErrorFor(JingleReason reason) => reason.Condition switch
    {
        "decline" or "busy" => FileTransferError.Declined,
        "unsupported-applications" or "unsupported-transports" or "incompatible-parameters" => FileTransferError.NoCommonMethod,
        "timeout" or "expired" => FileTransferError.Timeout,
        "failed-transport" or "connectivity-error" => FileTransferError.StreamFailed,
        _ => FileTransferError.Aborted,
    };

    /// <summary>XEP-0260 §2.7: after both sides failed, replace the transport with in-band bytestreams (a new sid).</summary>
    private async Task<IbbTransport> ReplaceWithIbbAsync(XmppEndpoint endpoint, JingleSession session, CancellationToken cancellationToken)
    {
        var offered = new IbbTransport(NewSid(), _options.IbbBlockSize);
        session.TransportAnswer = new TaskCompletionSource<XmppElement?>(TaskCreationOptions.RunContinuationsAsynchronously);
        var replace = JingleElement.Create(JingleActions.TransportReplace, session.Sid, initiator: session.Self);
        JingleElement.AddContent(replace, session.ContentName).Add(offered.ToElement());
        try
        {
            await endpoint.SendIqAsync(new Iq(IqType.Set, session.Peer, replace), _options.NegotiationTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (XmppStanzaException ex)
        {
            throw new FileTransferException(FileTransferError.StreamFailed, $"{session.Peer} refused the transport-replace to in-band bytestreams ({ex.Error}).", ex);
        }

        var answer = await WaitForAsync(session, session.TransportAnswer.Task, "answer the transport-replace", cancellationToken).ConfigureAwait(false);
        if (answer?.Element("content")?.Element("transport", FileTransferNamespaces.JingleIbb) is not { } transport)
        {
            throw new FileTransferException(FileTransferError.StreamFailed, $"{session.Peer} rejected the in-band fallback after SOCKS5 failed.");
        }

        var accepted = IbbTransport.Parse(transport);
        if (accepted.Sid != offered.Sid || accepted.BlockSize > offered.BlockSize)
        {
            throw new FileTransferException(FileTransferError.Protocol, $"{session.Peer} accepted an in-band transport we did not offer.");
        }

        return accepted;
    }

    private static JingleReason ReasonFor(FileTransferException error) => error.Error switch
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

    /// <summary>Sends a session-terminate once per session; failures are logged (the peer may be gone).</summary>
    private Task TerminateQuietlyAsync(XmppEndpoint endpoint, JingleSession session, JingleReason reason)
    {
        if (Interlocked.Exchange(ref session.TerminateSent, 1) != 0 || session.Terminated.Task.IsCompleted)
        {
            return Task.CompletedTask;
        }

        return SendQuietlyAsync(endpoint, session, JingleElement.Terminate(session.Sid, reason));
    }

    private async Task SendQuietlyAsync(XmppEndpoint endpoint, JingleSession session, XmppElement jingle)
    {
        try
        {
            await endpoint.SendIqAsync(new Iq(IqType.Set, session.Peer, jingle), ProxyQueryTimeout, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is XmppStanzaException or TimeoutException or XmppTransportException or InvalidOperationException)
        {
            JingleLog.SendFailed(_logger, session.Sid, jingle.GetAttribute("action") ?? "?", session.Peer, ex.Message);
        }
    }

    /// <summary>
    /// Runs <paramref name="work"/> off the dispatch loop, after the current IQ handler returned: the acknowledgement is
    /// queued as the handler returns, and the work needs a thread-pool hop and a policy decision or I/O before it sends.
    /// </summary>
    private void AfterAck(JingleSession session, string what, Func<CancellationToken, Task> work) => _ = Task.Run(async () =>
    {
        try
        {
            await work(_jingleStop.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is XmppTransportException or XmppStanzaException or TimeoutException or InvalidOperationException or OperationCanceledException or ObjectDisposedException or IOException)
        {
            JingleLog.SendFailed(_logger, session.Sid, what, session.Peer, ex.Message);
        }
    });

    /// <summary>One Jingle session with a single file content, as initiator (sender) or responder (receiver).</summary>
    private sealed class JingleSession(Jid self, Jid peer, string sid, bool weInitiated, string contentName, string contentCreator, XmppElement description, CancellationTokenSource? abort)
    {
        public int TerminateSent;

        public Jid Self => self;

        public Jid Peer => peer;

        public string Sid => sid;

        public bool WeInitiated => weInitiated;

        public Jid Initiator => weInitiated ? self : peer;

        public string ContentName => contentName;

        public string ContentCreator => contentCreator;

        public XmppElement Description => description;

        public TaskCompletionSource<XmppElement> Accepted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource<JingleReason> Terminated { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Completed when the receiver of our file sent <c>&lt;received/&gt;</c> (XEP-0234 §7).</summary>
        public TaskCompletionSource ReceivedConfirmation { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource<XmppElement?> TransportAnswer { get; set; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public S5bNegotiation? S5b { get; set; }

        public IncomingSession? Incoming { get; set; }

        /// <summary>The peer ended the session: stop what runs (a success only ends the wait for the verdict).</summary>
        public void OnTerminated(JingleReason reason)
        {
            if (Terminated.TrySetResult(reason) && !reason.IsSuccess && abort is not null)
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
        }
    }
}
