using Parley.Xmpp.Core;
using Parley.Xmpp.Forms;
using Parley.Xmpp.Stanzas;

namespace Parley.Xmpp.Accounts;

/// <summary>
/// Administers the accounts of a server with the ad-hoc commands of XEP-0133, as an administrator account: add a user,
/// delete one, set a user's password. Works with Prosody (mod_admin_adhoc) and ejabberd (mod_configure).
/// </summary>
/// <remarks>
/// Servers report failures differently: ejabberd answers with stanza errors, Prosody 0.12 completes the command with an
/// error note (and reports accounts it could not delete in an info note). Both end up as <see cref="XmppAccountException"/>.
/// </remarks>
/// <example>
/// <code>
/// var admin = new ServiceAdministration(adminClient);
/// await admin.AddUserAsync(Jid.Parse("juliet@example.org"), secret);
/// </code>
/// </example>
public sealed class ServiceAdministration
{
    /// <summary>The node of the add-user command.</summary>
    public const string AddUserNode = XmppNamespaces.Admin + "#add-user";

    /// <summary>The node of the delete-user command.</summary>
    public const string DeleteUserNode = XmppNamespaces.Admin + "#delete-user";

    /// <summary>The node of the change-user-password command.</summary>
    public const string ChangeUserPasswordNode = XmppNamespaces.Admin + "#change-user-password";

    private readonly XmppEndpoint _endpoint;
    private readonly Jid? _service;

    /// <summary>Creates the administration helper.</summary>
    /// <param name="endpoint">A client logged in as an administrator.</param>
    /// <param name="service">The service to administer; by default the domain of the endpoint's own address.</param>
    public ServiceAdministration(XmppEndpoint endpoint, Jid? service = null)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        _endpoint = endpoint;
        _service = service;
    }

    /// <summary>Creates an account.</summary>
    /// <param name="account">The bare JID of the account, on the administered domain.</param>
    /// <param name="password">Its password (never logged).</param>
    /// <param name="cancellationToken">Cancels waiting.</param>
    /// <exception cref="ArgumentException">The JID is not a bare user JID, or the password is empty or too long.</exception>
    /// <exception cref="XmppNotConnectedException">Not connected.</exception>
    /// <exception cref="XmppAccountException">
    /// <see cref="AccountErrorReason.Forbidden"/> (not an administrator), <see cref="AccountErrorReason.UsernameTaken"/>,
    /// <see cref="AccountErrorReason.NotSupported"/> (no such command), <see cref="AccountErrorReason.Failed"/> with the server's text.
    /// </exception>
    /// <exception cref="TimeoutException">No answer in time.</exception>
    public Task AddUserAsync(Jid account, string password, CancellationToken cancellationToken = default)
    {
        CheckAccount(account);
        CheckPassword(password);
        return RunAsync(AddUserNode, $"add the account {account}", account, form =>
        {
            Require(form, "accountjid").SetValue(account.ToString());
            Require(form, "password").SetValue(password);

            // XEP-0133 §4.1 has a verification field; ejabberd requires it and Prosody compares it.
            form["password-verify"]?.SetValue(password);
        }, cancellationToken);
    }

    /// <summary>Deletes an account and ends its sessions.</summary>
    /// <param name="account">The bare JID of the account.</param>
    /// <param name="cancellationToken">Cancels waiting.</param>
    /// <exception cref="ArgumentException">The JID is not a bare user JID.</exception>
    /// <exception cref="XmppNotConnectedException">Not connected.</exception>
    /// <exception cref="XmppAccountException">
    /// <see cref="AccountErrorReason.Forbidden"/> (not an administrator), <see cref="AccountErrorReason.AccountNotFound"/>,
    /// <see cref="AccountErrorReason.NotSupported"/>, <see cref="AccountErrorReason.Failed"/> with the server's text.
    /// </exception>
    /// <exception cref="TimeoutException">No answer in time.</exception>
    public Task DeleteUserAsync(Jid account, CancellationToken cancellationToken = default)
    {
        CheckAccount(account);
        return RunAsync(DeleteUserNode, $"delete the account {account}", account, form =>
        {
            var field = form["accountjids"] ?? Require(form, "accountjid");
            field.SetJids(account);
        }, cancellationToken);
    }

    /// <summary>Sets the password of an account.</summary>
    /// <param name="account">The bare JID of the account.</param>
    /// <param name="password">The new password (never logged).</param>
    /// <param name="cancellationToken">Cancels waiting.</param>
    /// <exception cref="ArgumentException">The JID is not a bare user JID, or the password is empty or too long.</exception>
    /// <exception cref="XmppNotConnectedException">Not connected.</exception>
    /// <exception cref="XmppAccountException">
    /// <see cref="AccountErrorReason.Forbidden"/> (not an administrator), <see cref="AccountErrorReason.AccountNotFound"/>,
    /// <see cref="AccountErrorReason.NotSupported"/>, <see cref="AccountErrorReason.Failed"/> with the server's text.
    /// </exception>
    /// <exception cref="TimeoutException">No answer in time.</exception>
    public Task ChangeUserPasswordAsync(Jid account, string password, CancellationToken cancellationToken = default)
    {
        CheckAccount(account);
        CheckPassword(password);
        return RunAsync(ChangeUserPasswordNode, $"change the password of {account}", account, form =>
        {
            Require(form, "accountjid").SetValue(account.ToString());
            Require(form, "password").SetValue(password);
        }, cancellationToken);
    }

    /// <summary>Judges a completed command's notes. Internal so the server-specific wording is pinned by unit tests.</summary>
    internal static XmppAccountException? FailureOf(AdHocCommandResult result, string operation, Jid service)
    {
        if (result.Status == AdHocCommandStatus.Canceled)
        {
            return new XmppAccountException(AccountErrorReason.Failed, $"{service} cancelled the command to {operation}.");
        }

        if (result.ErrorText is { } error)
        {
            // Prosody 0.12 (mod_admin_adhoc) completes with an error note instead of a stanza error.
            var reason = error.Contains("already exists", StringComparison.OrdinalIgnoreCase) ? AccountErrorReason.UsernameTaken
                : error.Contains("does not exist", StringComparison.OrdinalIgnoreCase) ? AccountErrorReason.AccountNotFound
                : AccountErrorReason.Failed;
            return new XmppAccountException(reason, $"{service} could not {operation}: {error}");
        }

        // Prosody's delete-user reports accounts it could not delete in an info note.
        if (result.Notes.FirstOrDefault(n => n.Text.Contains("could not be deleted", StringComparison.OrdinalIgnoreCase)) is { } note)
        {
            return new XmppAccountException(AccountErrorReason.AccountNotFound, $"{service} could not {operation}: {note.Text.Trim()}");
        }

        return null;
    }

    private async Task RunAsync(string node, string operation, Jid account, Action<DataForm> fill, CancellationToken cancellationToken)
    {
        var service = _service ?? (_endpoint.Jid is { } own ? Jid.Create(null, own.Domain) : throw new InvalidOperationException("The endpoint is not connected."));
        AdHocCommandResult stage;
        try
        {
            stage = await _endpoint.ExecuteCommandAsync(service, node, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (XmppStanzaException ex)
        {
            throw AccountErrors.Admin(ex, operation, service, submitted: false);
        }

        if (stage.Status != AdHocCommandStatus.Executing || stage.Form is null)
        {
            throw FailureOf(stage, operation, service)
                ?? new XmppAccountException(AccountErrorReason.NotSupported, $"{service} answered the command to {operation} without a form to fill in.");
        }

        var submission = stage.Form.CreateSubmission();
        try
        {
            fill(submission);
        }
        catch (XmppAccountException)
        {
            await CancelQuietlyAsync(stage, cancellationToken).ConfigureAwait(false);
            throw;
        }

        if (submission.MissingRequiredFields is { Count: > 0 } missing)
        {
            await CancelQuietlyAsync(stage, cancellationToken).ConfigureAwait(false);
            throw new XmppAccountException(AccountErrorReason.NotSupported, $"{service} asks for fields this library cannot fill in to {operation}: {string.Join(", ", missing.Select(f => f.Var))}.");
        }

        AdHocCommandResult result;
        try
        {
            var action = stage.Allows(AdHocAction.Complete) ? AdHocAction.Complete : AdHocAction.Execute;
            result = await _endpoint.ContinueCommandAsync(stage, submission, action, cancellationToken).ConfigureAwait(false);
        }
        catch (XmppStanzaException ex)
        {
            throw AccountErrors.Admin(ex, operation, service, submitted: true);
        }

        if (result.Status == AdHocCommandStatus.Executing)
        {
            await CancelQuietlyAsync(result, cancellationToken).ConfigureAwait(false);
            throw new XmppAccountException(AccountErrorReason.Failed, $"{service} wants more stages to {operation} than XEP-0133 defines{(result.Form?.Title is { } title ? $" ({title})" : string.Empty)}.");
        }

        if (FailureOf(result, operation, service) is { } failure)
        {
            throw failure;
        }

        AccountLog.AdminCommandCompleted(_endpoint.Logger, node, service, account);
    }

    private async Task CancelQuietlyAsync(AdHocCommandResult stage, CancellationToken cancellationToken)
    {
        try
        {
            await _endpoint.CancelCommandAsync(stage, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is XmppStanzaException or TimeoutException or XmppTransportException)
        {
            // Only frees the session early; the server expires it anyway.
        }
    }

    private static DataFormField Require(DataForm form, string var)
        => form[var] ?? throw new XmppAccountException(
            AccountErrorReason.NotSupported,
            $"The server's form has no '{var}' field (it has: {string.Join(", ", form.Fields.Select(f => f.Var))}); it does not follow XEP-0133.");

    private static void CheckAccount(Jid account)
    {
        ArgumentNullException.ThrowIfNull(account);
        if (account.Local is null || !account.IsBare)
        {
            throw new ArgumentException($"'{account}' is not a bare user JID (user@domain).", nameof(account));
        }
    }

    private static void CheckPassword(string password)
    {
        ArgumentException.ThrowIfNullOrEmpty(password);
        if (password.Length > XmppRegistrationOptions.MaxPasswordLength)
        {
            throw new ArgumentException($"The password is longer than {XmppRegistrationOptions.MaxPasswordLength} characters.", nameof(password));
        }
    }
}
