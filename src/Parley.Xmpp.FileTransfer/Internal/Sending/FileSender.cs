using Microsoft.Extensions.Logging;
using Parley.Xmpp.Core;
using Parley.Xmpp.Stanzas;

namespace Parley.Xmpp.FileTransfer;

/// <summary>
/// Runs a send: plans it (<see cref="SendPlanner"/>), then hands the file to the sender of each planned method in turn
/// (<see cref="JingleSender"/>, <see cref="SiSender"/>, <see cref="HttpLinkSender"/>) until one succeeds, as the
/// <see cref="FallbackChain"/> allows.
/// </summary>
internal sealed class FileSender(XmppEndpoint endpoint, SendPlanner planner, JingleSender jingle, SiSender si, HttpLinkSender link, ILogger logger)
{
    /// <exception cref="FileTransferException">The last method that could be tried failed, or none is possible.</exception>
    /// <exception cref="XmppStanzaException">The receiver answered the last offer with an unexpected error.</exception>
    /// <exception cref="XmppNotConnectedException">Not connected.</exception>
    public async Task<FileTransferResult> SendAsync(Jid to, OutgoingFile file, CancellationToken cancellationToken)
    {
        var self = endpoint.Jid ?? throw new XmppNotConnectedException(endpoint.State);
        var plan = await planner.PlanAsync(to, file.Methods, file.Name, cancellationToken).ConfigureAwait(false);
        var chain = new FallbackChain(plan, file.Content.CanSeek, file.KnownSha256 is not null);
        while (chain.MoveNext() is { } step)
        {
            try
            {
                var result = step.Method switch
                {
                    FileTransferMethod.Jingle => await jingle.SendAsync(self, step.To, file, cancellationToken).ConfigureAwait(false),
                    FileTransferMethod.HttpUpload => await link.SendAsync(step.To, file, chain.Attempts, cancellationToken).ConfigureAwait(false),
                    _ => await si.SendAsync(self, step.To, file, cancellationToken).ConfigureAwait(false),
                };
                return chain.Complete(result);
            }
            catch (Exception ex) when (ex is FileTransferException or XmppStanzaException && !cancellationToken.IsCancellationRequested)
            {
                var error = ex is FileTransferException fte ? fte.Error : FileTransferError.NoCommonMethod;
                var decision = chain.OnFailure(error, ex.Message);
                if (decision.Rewind)
                {
                    file.Rewind();
                }

                if (decision.Next is not { } next)
                {
                    // Nothing after this may be tried: this failure is the answer.
                    throw;
                }

                FileTransferLog.MethodFailed(logger, file.Name, step.To, step.Method, error, ex.Message, next);
            }
        }

        // Not reached: a step returns, or its failure is thrown when nothing after it may be tried.
        throw new InvalidOperationException("The send plan ended without a result.");
    }
}
