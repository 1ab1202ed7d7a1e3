namespace Parley.Xmpp.FileTransfer;

/// <summary>
/// Decides about an incoming offer, the same way for SI and Jingle: the manager's limits first (not disposed, size,
/// transfers at once), then <see cref="FileTransferManager.IncomingPolicy"/> within <see cref="FileTransferOptions.PolicyTimeout"/>.
/// </summary>
/// <param name="options">The limits.</param>
/// <param name="transfers">The transfers in progress, counted against <see cref="FileTransferOptions.MaxConcurrentIncoming"/>.</param>
/// <param name="policy">The application's policy as it is set now; none declines every offer.</param>
internal sealed class OfferGate(FileTransferOptions options, IncomingTransfers transfers, Func<Func<IncomingFileOffer, CancellationToken, ValueTask<FileOfferDecision>>?> policy)
{
    private volatile bool _closed;

    /// <summary>From now on every offer is declined.</summary>
    public void Close() => _closed = true;

    /// <summary>Why the manager's limits refuse <paramref name="offer"/> before the policy is asked, or null when they do not.</summary>
    public string? Refusal(IncomingFileOffer offer)
    {
        if (_closed)
        {
            return "Not accepting files now";
        }

        if (offer.Size > options.MaxIncomingFileSize)
        {
            return $"Files larger than {options.MaxIncomingFileSize} bytes are not accepted";
        }

        return transfers.Count >= options.MaxConcurrentIncoming ? "Too many transfers at once" : null;
    }

    /// <summary>The limits, then the policy; a policy that does not decide in time declines.</summary>
    public async Task<FileOfferDecision> DecideAsync(IncomingFileOffer offer, CancellationToken cancellationToken)
    {
        if (Refusal(offer) is { } refusal)
        {
            return offer.Decline(refusal);
        }

        if (policy() is not { } decide)
        {
            return offer.Decline("No files accepted here");
        }

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(options.PolicyTimeout);
        try
        {
            return await decide(offer, deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return offer.Decline("No decision in time");
        }
    }
}
