using Parley.Xmpp.Core;
using Parley.Xmpp.Stanzas;
using Parley.Xmpp.Xml;

namespace Parley.Xmpp.Accounts;

/// <summary>Managing the connected client's own account with XEP-0077: change its password, or remove it.</summary>
public static class XmppAccountExtensions
{
    /// <summary>
    /// Changes the account's password (XEP-0077 §3.3). On success <see cref="XmppClientOptions.Password"/> is updated too,
    /// so automatic reconnects use the new password. The password travels inside the stream: only use this over TLS.
    /// </summary>
    /// <param name="client">A connected client.</param>
    /// <param name="newPassword">The new password (never logged).</param>
    /// <param name="cancellationToken">Cancels waiting.</param>
    /// <exception cref="ArgumentException">The password is empty or longer than <see cref="XmppRegistrationOptions.MaxPasswordLength"/>.</exception>
    /// <exception cref="XmppNotConnectedException">The client is not connected.</exception>
    /// <exception cref="XmppAccountException">The server refused (<see cref="AccountErrorReason.NotAllowed"/>, <see cref="AccountErrorReason.Forbidden"/>, <see cref="AccountErrorReason.InvalidFields"/>…).</exception>
    /// <exception cref="TimeoutException">No answer in time.</exception>
    /// <exception cref="XmppTransportException">The connection closed before the answer arrived.</exception>
    public static async Task ChangePasswordAsync(this XmppClient client, string newPassword, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentException.ThrowIfNullOrEmpty(newPassword);
        if (newPassword.Length > XmppRegistrationOptions.MaxPasswordLength)
        {
            throw new ArgumentException($"The password is longer than {XmppRegistrationOptions.MaxPasswordLength} characters.", nameof(newPassword));
        }

        var account = ConnectedAccount(client);
        var query = new XmppElement("query", XmppNamespaces.Register);
        query.AddChild("username", text: account.Local);
        query.AddChild("password", text: newPassword);
        try
        {
            // No 'to': the request is about our own account, which the server answers (RFC 6120 §10.3.3).
            await client.SendIqAsync(new Iq(IqType.Set, null, query), cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (XmppStanzaException ex)
        {
            throw AccountErrors.PasswordChange(ex, account);
        }

        ((XmppClientOptions)client.ConnectionOptions).Password = newPassword;
        AccountLog.PasswordChanged(client.Logger, account.Bare);
    }

    /// <summary>
    /// Removes the account from the server (XEP-0077 §3.2) and disconnects: the server ends every session of the account,
    /// so the client does not try to reconnect afterwards.
    /// </summary>
    /// <param name="client">A connected client.</param>
    /// <param name="cancellationToken">Cancels waiting.</param>
    /// <exception cref="XmppNotConnectedException">The client is not connected.</exception>
    /// <exception cref="XmppAccountException">The server refused (<see cref="AccountErrorReason.NotAllowed"/>, <see cref="AccountErrorReason.Forbidden"/>…).</exception>
    /// <exception cref="TimeoutException">No answer in time.</exception>
    /// <exception cref="XmppTransportException">The connection closed before the answer arrived (whether the account was removed is then unknown).</exception>
    public static async Task CancelRegistrationAsync(this XmppClient client, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        var account = ConnectedAccount(client);
        var query = new XmppElement("query", XmppNamespaces.Register);
        query.AddChild("remove");
        try
        {
            // XEP-0077 §3.2: no 'to' and no 'from' when cancelling with the home server.
            await client.SendIqAsync(new Iq(IqType.Set, null, query), cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (XmppStanzaException ex)
        {
            throw AccountErrors.Removal(ex, account);
        }

        AccountLog.AccountRemoved(client.Logger, account.Bare);
        await client.DisconnectAsync(cancellationToken).ConfigureAwait(false);
    }

    private static Jid ConnectedAccount(XmppClient client)
    {
        if (client.State != XmppConnectionState.Connected || client.Jid is not { Local: not null } account)
        {
            throw new XmppNotConnectedException(client.State, $"The client is {client.State}; connect it first.");
        }

        return account;
    }
}
