using Parley.Xmpp.Core;
using Parley.Xmpp.Forms;
using Parley.Xmpp.Stanzas;
using Parley.Xmpp.Xml;

namespace Parley.Xmpp.Accounts;

/// <summary>
/// Running ad-hoc commands (XEP-0050) of other entities: list them, execute one, go through its stages, cancel it.
/// A session's state travels in the <see cref="AdHocCommandResult"/> of the last stage.
/// </summary>
/// <example>
/// <code>
/// var stage = await client.ExecuteCommandAsync(service, "http://jabber.org/protocol/admin#add-user");
/// var submission = stage.Form!.CreateSubmission();
/// submission.SetValue("accountjid", "juliet@example.org");
/// var done = await client.ContinueCommandAsync(stage, submission, AdHocAction.Complete);
/// if (done.HasErrors) Console.WriteLine(done.ErrorText);
/// </code>
/// </example>
public static class AdHocCommandExtensions
{
    /// <summary>Lists the commands an entity offers to this account (disco#items of node <c>http://jabber.org/protocol/commands</c>).</summary>
    /// <param name="endpoint">A connected client or component.</param>
    /// <param name="entity">The entity to ask.</param>
    /// <param name="cancellationToken">Cancels waiting.</param>
    /// <returns>The commands. Items naming another entity than <paramref name="entity"/> are dropped (XEP-0050 §7: they may be spoofed).</returns>
    /// <exception cref="XmppStanzaException">The entity answered with an error (e.g. <c>service-unavailable</c>: no commands).</exception>
    /// <exception cref="TimeoutException">No answer in time.</exception>
    public static async Task<IReadOnlyList<AdHocCommandItem>> ListCommandsAsync(this XmppEndpoint endpoint, Jid entity, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        ArgumentNullException.ThrowIfNull(entity);
        var items = await endpoint.Disco.QueryItemsAsync(entity, XmppNamespaces.Commands, cancellationToken).ConfigureAwait(false);
        var commands = new List<AdHocCommandItem>(items.Count);
        foreach (var item in items)
        {
            if (item.Node is { Length: > 0 } node && item.Jid == entity)
            {
                commands.Add(new AdHocCommandItem(item.Jid, node, item.Name));
            }
        }

        return commands;
    }

    /// <summary>Starts a command. Single-stage commands may take a submission right away.</summary>
    /// <param name="endpoint">A connected client or component.</param>
    /// <param name="entity">The entity that executes the command.</param>
    /// <param name="node">The command's node.</param>
    /// <param name="submission">Optional data (a form of type submit).</param>
    /// <param name="cancellationToken">Cancels waiting.</param>
    /// <returns>The first stage: a form to fill in while <see cref="AdHocCommandStatus.Executing"/>, or the outcome.</returns>
    /// <exception cref="ArgumentException"><paramref name="submission"/> is not of type submit.</exception>
    /// <exception cref="XmppStanzaException">The entity answered with an error (<c>forbidden</c>, <c>item-not-found</c>…) or with something that is not a command answer (<c>bad-request</c>).</exception>
    /// <exception cref="TimeoutException">No answer in time.</exception>
    public static Task<AdHocCommandResult> ExecuteCommandAsync(this XmppEndpoint endpoint, Jid entity, string node, DataForm? submission = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        ArgumentNullException.ThrowIfNull(entity);
        ArgumentException.ThrowIfNullOrEmpty(node);
        return SendAsync(endpoint, entity, node, sessionId: null, AdHocAction.Execute, submission, cancellationToken);
    }

    /// <summary>Goes on with a command: submits the stage's form and/or moves to the next, previous or last stage.</summary>
    /// <param name="endpoint">The endpoint that started the command.</param>
    /// <param name="stage">The current stage.</param>
    /// <param name="submission">The filled-in form (see <see cref="DataForm.CreateSubmission"/>), if any.</param>
    /// <param name="action">What to do; <see cref="AdHocAction.Execute"/> means the stage's default.</param>
    /// <param name="cancellationToken">Cancels waiting.</param>
    /// <returns>The next stage or the outcome.</returns>
    /// <exception cref="InvalidOperationException">The session has ended, or the stage does not allow <paramref name="action"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="submission"/> is not of type submit.</exception>
    /// <exception cref="XmppStanzaException">The entity answered with an error (<c>bad-request</c> with a bad payload, <c>not-allowed</c> for an expired session…).</exception>
    /// <exception cref="TimeoutException">No answer in time.</exception>
    public static Task<AdHocCommandResult> ContinueCommandAsync(this XmppEndpoint endpoint, AdHocCommandResult stage, DataForm? submission = null, AdHocAction action = AdHocAction.Execute, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        ArgumentNullException.ThrowIfNull(stage);
        if (stage.Status != AdHocCommandStatus.Executing)
        {
            throw new InvalidOperationException($"The command session is {stage.Status.ToString().ToLowerInvariant()}; start it again.");
        }

        if (!stage.Allows(action))
        {
            throw new InvalidOperationException($"This stage of {stage.Node} does not allow '{AdHocCommandResult.ActionName(action)}' (allowed: execute, cancel{string.Concat(stage.Actions.Select(a => ", " + AdHocCommandResult.ActionName(a)))}).");
        }

        return SendAsync(endpoint, stage.Entity, stage.Node, stage.SessionId, action, submission, cancellationToken);
    }

    /// <summary>Cancels a command session so the responder can free it (XEP-0050 §3.4.3).</summary>
    /// <param name="endpoint">The endpoint that started the command.</param>
    /// <param name="stage">The current stage.</param>
    /// <param name="cancellationToken">Cancels waiting.</param>
    /// <returns>The responder's answer, normally <see cref="AdHocCommandStatus.Canceled"/>.</returns>
    /// <exception cref="InvalidOperationException">The session has already ended.</exception>
    /// <exception cref="XmppStanzaException">The entity answered with an error.</exception>
    /// <exception cref="TimeoutException">No answer in time.</exception>
    public static Task<AdHocCommandResult> CancelCommandAsync(this XmppEndpoint endpoint, AdHocCommandResult stage, CancellationToken cancellationToken = default)
        => ContinueCommandAsync(endpoint, stage, submission: null, AdHocAction.Cancel, cancellationToken);

    /// <summary>Builds the request's <c>&lt;command/&gt;</c>.</summary>
    internal static XmppElement BuildRequest(string node, string? sessionId, AdHocAction action, DataForm? submission)
    {
        if (submission is not null && submission.Type != DataFormType.Submit)
        {
            throw new ArgumentException($"Send a form of type submit (form.CreateSubmission()), not {submission.Type.ToString().ToLowerInvariant()}.", nameof(submission));
        }

        var command = new XmppElement("command", XmppNamespaces.Commands);
        command.SetAttribute("node", node);
        command.SetAttribute("sessionid", sessionId);
        command.SetAttribute("action", AdHocCommandResult.ActionName(action));
        if (submission is not null && action != AdHocAction.Cancel)
        {
            command.Add(submission.ToElement());
        }

        return command;
    }

    private static async Task<AdHocCommandResult> SendAsync(XmppEndpoint endpoint, Jid entity, string node, string? sessionId, AdHocAction action, DataForm? submission, CancellationToken cancellationToken)
    {
        var request = new Iq(IqType.Set, entity, BuildRequest(node, sessionId, action, submission));
        var response = await endpoint.SendIqAsync(request, cancellationToken: cancellationToken).ConfigureAwait(false);
        var command = response.Element("command", XmppNamespaces.Commands)
            ?? throw new XmppStanzaException(StanzaError.BadRequest($"The answer to command {node} has no <command/>."), response.From);
        try
        {
            return AdHocCommandResult.Parse(command, entity);
        }
        catch (FormatException ex)
        {
            throw new XmppStanzaException(StanzaError.BadRequest($"The answer to command {node} is invalid: {ex.Message}"), response.From);
        }
    }
}
