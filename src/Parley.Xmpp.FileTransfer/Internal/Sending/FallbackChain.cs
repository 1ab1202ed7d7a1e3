namespace Parley.Xmpp.FileTransfer;

/// <summary>What to do after a method failed: rewind the content or not, and the method to try next (none: the failure is the answer).</summary>
internal readonly record struct FallbackDecision(bool Rewind, FileTransferMethod? Next);

/// <summary>
/// Walks a send plan: hands out the steps to try, records the ones passed over and the ones that failed, and decides
/// after a failure whether a later method may still be tried. Pure logic; the senders do the sending.
/// </summary>
/// <param name="plan">The steps, from <see cref="SendPlan.Create"/>.</param>
/// <param name="contentSeekable">Whether the content can be rewound for another method.</param>
/// <param name="hashGivenByCaller">Whether the offers carry the caller's SHA-256: a mismatch is then final (every method offers the same value).</param>
internal sealed class FallbackChain(IReadOnlyList<SendStep> plan, bool contentSeekable, bool hashGivenByCaller)
{
    private readonly List<FileTransferAttempt> _attempts = [];
    private int _next;
    private SendStep _current;

    /// <summary>
    /// Why the receiving client is not offered the file again over another direct method (Jingle or SI), once it
    /// answered: it declined, or it accepted and then ended the transfer itself. Null while every method is open.
    /// </summary>
    private string? _directMethodsClosed;

    /// <summary>The methods given up so far, in plan order: skipped (not announced, or closed after an answer) and failed.</summary>
    public IReadOnlyList<FileTransferAttempt> Attempts => _attempts;

    /// <summary>The next step to try, recording the steps passed over on the way; null when none is left.</summary>
    public SendStep? MoveNext()
    {
        while (_next < plan.Count)
        {
            var step = plan[_next++];
            if (step.Skipped is { } skipped)
            {
                _attempts.Add(skipped);
                continue;
            }

            if (_directMethodsClosed is not null && step.Method != FileTransferMethod.HttpUpload)
            {
                // A decline is the user's answer: the same client is not asked again over another protocol. So is a transfer
                // it accepted and then ended itself (it could not store the file, say): another protocol ends the same way.
                _attempts.Add(new FileTransferAttempt(step.Method, null, _directMethodsClosed));
                continue;
            }

            _current = step;
            return step;
        }

        return null;
    }

    /// <summary>The step handed out last failed with <paramref name="error"/>: whether to rewind, and what comes next.</summary>
    /// <param name="error">The failure (an error answer to the offer counts as <see cref="FileTransferError.NoCommonMethod"/>).</param>
    /// <param name="reason">The failure's message, kept in <see cref="Attempts"/>.</param>
    public FallbackDecision OnFailure(FileTransferError error, string reason)
    {
        if (!plan.Skip(_next).Any(step => step.Skipped is null) || (hashGivenByCaller && error == FileTransferError.HashMismatch))
        {
            return new FallbackDecision(Rewind: false, Next: null);
        }

        // Content that cannot be rewound only goes on when nothing was read (declined or unsupported).
        if (!contentSeekable && error is not (FileTransferError.Declined or FileTransferError.NoCommonMethod))
        {
            return new FallbackDecision(Rewind: false, Next: null);
        }

        _directMethodsClosed ??= error switch
        {
            FileTransferError.Declined => "not offered again after the decline",
            FileTransferError.Aborted => "not offered again after the receiver ended the transfer",
            _ => null,
        };
        var next = plan.Skip(_next).Where(step => step.Skipped is null && (_directMethodsClosed is null || step.Method == FileTransferMethod.HttpUpload))
            .Select(step => (FileTransferMethod?)step.Method).FirstOrDefault();
        if (next is not null)
        {
            _attempts.Add(new FileTransferAttempt(_current.Method, error, reason));
        }

        return new FallbackDecision(contentSeekable, next);
    }

    /// <summary>The result of the step that succeeded, with <see cref="FileTransferResult.Attempts"/> and <see cref="FileTransferResult.FallbackReason"/> saying what was given up.</summary>
    public FileTransferResult Complete(FileTransferResult result)
    {
        if (_attempts.Count == 0)
        {
            return result;
        }

        // FallbackReason says why methods that were tried were given up; Attempts also lists the skipped ones.
        var tried = string.Join("; ", _attempts.Where(a => a.WasTried));
        var fallback = (tried.Length > 0, result.FallbackReason) switch
        {
            (true, { } inner) => $"{tried}; {inner}",
            (true, null) => tried,
            _ => result.FallbackReason,
        };
        return result with { Attempts = _attempts, FallbackReason = fallback };
    }
}
