using Parley.Xmpp.Core;
using Parley.Xmpp.Forms;
using Parley.Xmpp.Xml;

namespace Parley.Xmpp.Accounts;

/// <summary>Where a command session stands (XEP-0050 §4.1).</summary>
public enum AdHocCommandStatus
{
    /// <summary>More stages follow.</summary>
    Executing,
    /// <summary>Done; the session ended. Check <see cref="AdHocCommandResult.HasErrors"/>: a command can complete and still fail.</summary>
    Completed,
    /// <summary>Cancelled; the session ended.</summary>
    Canceled,
}

/// <summary>What the requester asks for at a stage (XEP-0050 §4.1).</summary>
public enum AdHocAction
{
    /// <summary>Go on: the stage's default action.</summary>
    Execute,
    /// <summary>Go to the next stage.</summary>
    Next,
    /// <summary>Go back to the previous stage.</summary>
    Prev,
    /// <summary>Finish now.</summary>
    Complete,
    /// <summary>Give up.</summary>
    Cancel,
}

/// <summary>The severity of a note.</summary>
public enum AdHocNoteType
{
    /// <summary>Information.</summary>
    Info,
    /// <summary>A warning.</summary>
    Warn,
    /// <summary>An error: the command failed.</summary>
    Error,
}

/// <summary>A note of a command stage (XEP-0050 §4.3).</summary>
/// <param name="Type">The severity.</param>
/// <param name="Text">The text, for people.</param>
public sealed record AdHocNote(AdHocNoteType Type, string Text);

/// <summary>A command an entity offers (an item of its <c>http://jabber.org/protocol/commands</c> disco node).</summary>
/// <param name="Jid">The entity that executes it.</param>
/// <param name="Node">The command's node, used to execute it.</param>
/// <param name="Name">Its human-readable name, if given.</param>
public sealed record AdHocCommandItem(Jid Jid, string Node, string? Name);

/// <summary>The answer to one stage of an ad-hoc command (XEP-0050): status, session, allowed actions, notes and payload.</summary>
public sealed class AdHocCommandResult
{
    /// <summary>The most notes read from one answer.</summary>
    public const int MaxNotes = 100;

    private AdHocCommandResult(Jid entity, string node)
    {
        Entity = entity;
        Node = node;
    }

    /// <summary>The entity that executes the command.</summary>
    public Jid Entity { get; }

    /// <summary>The command's node.</summary>
    public string Node { get; }

    /// <summary>The session id to continue with, or <see langword="null"/> when the responder gave none.</summary>
    public string? SessionId { get; private init; }

    /// <summary>The status.</summary>
    public AdHocCommandStatus Status { get; private init; }

    /// <summary>The actions allowed at this stage besides execute and cancel; empty when the responder sent no <c>&lt;actions/&gt;</c> (then only complete makes sense).</summary>
    public IReadOnlyList<AdHocAction> Actions { get; private init; } = [];

    /// <summary>What execute means at this stage: the <c>execute</c> attribute, <see cref="AdHocAction.Next"/> when <c>&lt;actions/&gt;</c> has none, <see cref="AdHocAction.Complete"/> without <c>&lt;actions/&gt;</c>.</summary>
    public AdHocAction DefaultAction { get; private init; } = AdHocAction.Complete;

    /// <summary>The notes, in order.</summary>
    public IReadOnlyList<AdHocNote> Notes { get; private init; } = [];

    /// <summary>The data form: a form to fill in while executing, or a result.</summary>
    public DataForm? Form { get; private init; }

    /// <summary>Other payload elements (e.g. XEP-0066 out-of-band URLs), in order.</summary>
    public IReadOnlyList<XmppElement> Payloads { get; private init; } = [];

    /// <summary>The language of the session, if the responder said.</summary>
    public string? Language { get; private init; }

    /// <summary>Whether a note of type error is present: the command failed even if it completed.</summary>
    public bool HasErrors => Notes.Any(static n => n.Type == AdHocNoteType.Error);

    /// <summary>The error notes' text, joined, or <see langword="null"/> without errors.</summary>
    public string? ErrorText => HasErrors ? string.Join(" ", Notes.Where(static n => n.Type == AdHocNoteType.Error).Select(static n => n.Text.Trim())) : null;

    /// <summary>Whether the action may be requested next: cancel and execute while executing, and the listed actions.</summary>
    /// <param name="action">The action.</param>
    public bool Allows(AdHocAction action) => Status == AdHocCommandStatus.Executing
        && (action is AdHocAction.Execute or AdHocAction.Cancel || Actions.Contains(action) || (Actions.Count == 0 && action == AdHocAction.Complete));

    /// <summary>Reads a <c>&lt;command xmlns='http://jabber.org/protocol/commands'/&gt;</c> answer.</summary>
    /// <param name="command">The command element.</param>
    /// <param name="entity">Who answered.</param>
    /// <exception cref="FormatException">The element is not a command answer, has an invalid status, or its data form is malformed.</exception>
    public static AdHocCommandResult Parse(XmppElement command, Jid entity)
    {
        ArgumentNullException.ThrowIfNull(command);
        ArgumentNullException.ThrowIfNull(entity);
        if (command.Name != "command" || command.Namespace != XmppNamespaces.Commands)
        {
            throw new FormatException($"<{command.Name} xmlns='{command.Namespace}'/> is not an ad-hoc command.");
        }

        var node = command.GetAttribute("node") is { Length: > 0 } n ? n : throw new FormatException("The command has no node.");
        var status = command.GetAttribute("status") switch
        {
            "executing" => AdHocCommandStatus.Executing,
            "completed" => AdHocCommandStatus.Completed,
            "canceled" => AdHocCommandStatus.Canceled,
            var other => throw new FormatException($"The command has an invalid status '{other}'."),
        };

        var actions = new List<AdHocAction>();
        var defaultAction = AdHocAction.Complete;
        var notes = new List<AdHocNote>();
        var payloads = new List<XmppElement>();
        DataForm? form = null;
        foreach (var child in command.Children)
        {
            if (child.Namespace == XmppNamespaces.Commands && child.Name == "actions")
            {
                foreach (var allowed in child.Children)
                {
                    if (ParseAction(allowed.Name) is { } action and not AdHocAction.Execute and not AdHocAction.Cancel && !actions.Contains(action))
                    {
                        actions.Add(action);
                    }
                }

                // XEP-0050 §6.4: without an 'execute' attribute, execute means next.
                defaultAction = ParseAction(child.GetAttribute("execute")) ?? AdHocAction.Next;
            }
            else if (child.Namespace == XmppNamespaces.Commands && child.Name == "note")
            {
                if (notes.Count < MaxNotes)
                {
                    notes.Add(new AdHocNote(
                        child.GetAttribute("type") switch
                        {
                            "warn" => AdHocNoteType.Warn,
                            "error" => AdHocNoteType.Error,
                            _ => AdHocNoteType.Info,
                        },
                        child.Text ?? string.Empty));
                }
            }
            else if (child.Namespace == XmppNamespaces.DataForms && child.Name == "x" && form is null)
            {
                form = DataForm.Parse(child);
            }
            else if (child.Namespace != XmppNamespaces.Commands)
            {
                payloads.Add(child);
            }
        }

        return new AdHocCommandResult(entity, node)
        {
            SessionId = command.GetAttribute("sessionid") is { Length: > 0 } sid ? sid : null,
            Status = status,
            Actions = actions,
            DefaultAction = defaultAction,
            Notes = notes,
            Form = form,
            Payloads = payloads,
            Language = command.GetAttribute("xml:lang"),
        };
    }

    /// <inheritdoc />
    public override string ToString() => $"{Node} at {Entity}: {Status.ToString().ToLowerInvariant()}{(SessionId is null ? string.Empty : $" (session {SessionId})")}";

    internal static AdHocAction? ParseAction(string? name) => name switch
    {
        "execute" => AdHocAction.Execute,
        "next" => AdHocAction.Next,
        "prev" => AdHocAction.Prev,
        "complete" => AdHocAction.Complete,
        "cancel" => AdHocAction.Cancel,
        _ => null,
    };

    internal static string ActionName(AdHocAction action) => action switch
    {
        AdHocAction.Next => "next",
        AdHocAction.Prev => "prev",
        AdHocAction.Complete => "complete",
        AdHocAction.Cancel => "cancel",
        _ => "execute",
    };
}
