using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Parley.Xmpp.Core;
using Parley.Xmpp.Forms;
using Parley.Xmpp.Im;
using Parley.Xmpp.Stanzas;
using Parley.Xmpp.Xml;

namespace Parley.Xmpp.Accounts;

/// <summary>A stage of a command as the responder sees it.</summary>
public sealed class AdHocRequest
{
    internal AdHocRequest(Jid from, string node, string sessionId, AdHocAction action, DataForm? form, object? state, string? language, bool isFirstStage)
    {
        IsFirstStage = isFirstStage;
        From = from;
        Node = node;
        SessionId = sessionId;
        Action = action;
        Form = form;
        State = state;
        Language = language;
    }

    /// <summary>Who executes the command.</summary>
    public Jid From { get; }

    /// <summary>The command's node.</summary>
    public string Node { get; }

    /// <summary>The session id (assigned by the host on the first stage).</summary>
    public string SessionId { get; }

    /// <summary>
    /// What the requester asked for, with execute resolved: <see cref="AdHocAction.Execute"/> only on the first stage,
    /// otherwise the previous stage's default (see <see cref="AdHocResponse.DefaultAction"/>).
    /// </summary>
    public AdHocAction Action { get; }

    /// <summary>Whether this is the first stage of a session.</summary>
    public bool IsFirstStage { get; }

    /// <summary>The submitted form, if any.</summary>
    public DataForm? Form { get; }

    /// <summary>What the handler kept in <see cref="AdHocResponse.State"/> at the previous stage.</summary>
    public object? State { get; }

    /// <summary>The requester's language (<c>xml:lang</c>), if given.</summary>
    public string? Language { get; }
}

/// <summary>What a command handler answers for a stage.</summary>
public sealed class AdHocResponse
{
    private AdHocResponse(AdHocCommandStatus status) => Status = status;

    /// <summary>The status.</summary>
    public AdHocCommandStatus Status { get; }

    /// <summary>A form to fill in (while executing) or a result form.</summary>
    public DataForm? Form { get; init; }

    /// <summary>Notes to show.</summary>
    public IReadOnlyList<AdHocNote> Notes { get; init; } = [];

    /// <summary>While executing: the actions allowed next (next, prev, complete).</summary>
    public IReadOnlyList<AdHocAction> Actions { get; init; } = [AdHocAction.Complete];

    /// <summary>While executing: what execute means at the next request.</summary>
    public AdHocAction DefaultAction { get; init; } = AdHocAction.Complete;

    /// <summary>While executing: anything the handler wants back at the next stage (<see cref="AdHocRequest.State"/>).</summary>
    public object? State { get; init; }

    /// <summary>Another stage follows: show this form.</summary>
    /// <param name="form">The form to fill in (type form).</param>
    /// <param name="state">What to get back at the next stage.</param>
    /// <param name="defaultAction">What execute means next.</param>
    /// <param name="actions">The actions allowed next; by default only <paramref name="defaultAction"/>.</param>
    public static AdHocResponse Executing(DataForm form, object? state = null, AdHocAction defaultAction = AdHocAction.Complete, params IReadOnlyList<AdHocAction> actions)
    {
        ArgumentNullException.ThrowIfNull(form);
        return new AdHocResponse(AdHocCommandStatus.Executing)
        {
            Form = form,
            State = state,
            DefaultAction = defaultAction,
            Actions = actions.Count > 0 ? actions : [defaultAction],
        };
    }

    /// <summary>The command is done.</summary>
    /// <param name="info">An optional info note.</param>
    /// <param name="result">An optional result form.</param>
    public static AdHocResponse Completed(string? info = null, DataForm? result = null)
        => new(AdHocCommandStatus.Completed) { Notes = info is null ? [] : [new AdHocNote(AdHocNoteType.Info, info)], Form = result };

    /// <summary>The command is done but failed (XEP-0050 §6.6: completed with an error note).</summary>
    /// <param name="error">Why, for people.</param>
    public static AdHocResponse Failed(string error)
    {
        ArgumentException.ThrowIfNullOrEmpty(error);
        return new(AdHocCommandStatus.Completed) { Notes = [new AdHocNote(AdHocNoteType.Error, error)] };
    }
}

/// <summary>Runs one stage of a command. Throw <see cref="XmppStanzaException"/> to answer with that error.</summary>
/// <param name="request">The stage.</param>
/// <param name="cancellationToken">Cancelled when the connection is disposed.</param>
public delegate ValueTask<AdHocResponse> AdHocCommandHandler(AdHocRequest request, CancellationToken cancellationToken);

/// <summary>
/// Offers ad-hoc commands (XEP-0050) to others: registers the command IQ handler, announces the commands in disco
/// (node <c>http://jabber.org/protocol/commands</c> and each command's node) and keeps multi-stage sessions.
/// </summary>
/// <remarks>Handlers run on the endpoint's dispatch loop, one at a time: keep them short.</remarks>
/// <example>
/// <code>
/// var commands = bot.AddExtension(new AdHocCommandHost());
/// commands.AddCommand("uptime", "Uptime", (request, ct) =&gt; ValueTask.FromResult(AdHocResponse.Completed($"Up {uptime}")));
/// </code>
/// </example>
public sealed class AdHocCommandHost : IXmppExtension
{
    /// <summary>The most sessions kept at once; beyond it new sessions are refused with <c>resource-constraint</c>.</summary>
    public const int MaxSessions = 1000;

    private readonly ConcurrentDictionary<string, Command> _commands = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Session> _sessions = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;
    private XmppEndpoint? _endpoint;

    /// <summary>Creates the host; add it to an endpoint with <see cref="XmppEndpoint.AddExtension{T}"/>.</summary>
    public AdHocCommandHost()
        : this(TimeProvider.System)
    {
    }

    internal AdHocCommandHost(TimeProvider time) => _time = time;

    /// <summary>How long an unfinished session is kept after its last stage. Default 10 minutes.</summary>
    public TimeSpan SessionLifetime { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Adds a command.</summary>
    /// <param name="node">Its node, unique on this endpoint.</param>
    /// <param name="name">Its human-readable name.</param>
    /// <param name="handler">Runs each stage.</param>
    /// <param name="isAllowed">
    /// Who may execute it; by default everyone. Others get <c>forbidden</c>, and disco#items of the command list does not
    /// show it to them.
    /// </param>
    /// <exception cref="InvalidOperationException">A command with that node exists.</exception>
    public void AddCommand(string node, string name, AdHocCommandHandler handler, Func<Jid, bool>? isAllowed = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(node);
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(handler);
        if (node == XmppNamespaces.Commands || !_commands.TryAdd(node, new Command(node, name, handler, isAllowed)))
        {
            throw new InvalidOperationException($"A command with node '{node}' already exists.");
        }
    }

    /// <summary>Removes a command; its open sessions end at their next request.</summary>
    /// <param name="node">The command's node.</param>
    /// <returns>Whether it existed.</returns>
    public bool RemoveCommand(string node) => _commands.TryRemove(node, out _);

    /// <inheritdoc />
    public void Attach(XmppEndpoint endpoint)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        if (Interlocked.CompareExchange(ref _endpoint, endpoint, null) is not null)
        {
            throw new InvalidOperationException("The command host is already attached to an endpoint.");
        }

        endpoint.SetIqHandler("command", XmppNamespaces.Commands, HandleAsync);

        // Chain to whatever answered node queries before, so other extensions keep their nodes.
        var disco = endpoint.Disco;
        var previousItems = disco.NodeItemsProvider;
        var previousInfo = disco.NodeInfoProvider;
        disco.NodeItemsProvider = node => node == XmppNamespaces.Commands ? ListItems(null) : previousItems?.Invoke(node);
        var previousRequesterItems = disco.RequesterNodeItemsProvider;
        disco.RequesterNodeItemsProvider = (node, from) => node == XmppNamespaces.Commands ? ListItems(from) : previousRequesterItems?.Invoke(node, from);
        disco.NodeInfoProvider = node => DescribeNode(node) ?? previousInfo?.Invoke(node);
    }

    /// <summary>Answers one command request. Internal so tests can drive it without a connection.</summary>
    internal async ValueTask<XmppElement?> HandleAsync(Iq request, CancellationToken cancellationToken)
    {
        var payload = request.Payload!;
        var node = payload.GetAttribute("node");
        if (string.IsNullOrEmpty(node))
        {
            throw new XmppStanzaException(StanzaError.BadRequest("The command has no node."));
        }

        if (!_commands.TryGetValue(node, out var command))
        {
            throw new XmppStanzaException(StanzaError.ItemNotFound($"No command '{node}' here."));
        }

        var from = request.From ?? throw new XmppStanzaException(StanzaError.BadRequest("The request has no sender."));
        if (command.IsAllowed is { } isAllowed && !isAllowed(from))
        {
            throw new XmppStanzaException(StanzaError.Forbidden("You may not execute this command."));
        }

        var actionName = payload.GetAttribute("action");
        var action = actionName is null ? AdHocAction.Execute : AdHocCommandResult.ParseAction(actionName)
            ?? throw CommandError(StanzaError.BadRequest($"Unknown action '{actionName}'."), "malformed-action");
        AccountLog.CommandRequested(Logger, node, from.ToString(), AdHocCommandResult.ActionName(action));

        var sessionId = payload.GetAttribute("sessionid");
        Session? session = null;
        if (sessionId is not null)
        {
            session = TakeSession(sessionId, from, node)
                ?? throw CommandError(new StanzaError("not-allowed", StanzaErrorType.Cancel, "The session is unknown or expired."), "session-expired");
            if (action == AdHocAction.Cancel)
            {
                return BuildAnswer(node, sessionId, AdHocCommandStatus.Canceled, null, request.Language);
            }

            if (action == AdHocAction.Execute)
            {
                action = session.DefaultAction;
            }
            else if (!session.Actions.Contains(action))
            {
                PutSession(sessionId, session);
                throw CommandError(StanzaError.BadRequest($"'{actionName}' is not allowed at this stage."), "bad-action");
            }
        }
        else if (action != AdHocAction.Execute)
        {
            throw CommandError(StanzaError.BadRequest("A new session starts with execute."), "bad-action");
        }

        DataForm? form;
        try
        {
            form = DataForm.FromParent(payload);
        }
        catch (FormatException ex)
        {
            throw CommandError(StanzaError.BadRequest(ex.Message), "bad-payload");
        }

        sessionId ??= Stanza.NewId();
        var response = await command.Handler(new AdHocRequest(from, node, sessionId, action, form, session?.State, request.Language, session is null), cancellationToken).ConfigureAwait(false);
        if (response.Status == AdHocCommandStatus.Executing)
        {
            PutSession(sessionId, new Session(from, node, response.State, response.Actions, response.DefaultAction, _time.GetUtcNow() + SessionLifetime));
        }

        return BuildAnswer(node, sessionId, response.Status, response, request.Language);
    }

    private ILogger Logger => _endpoint?.Logger ?? NullLogger.Instance;

    /// <summary>The commands, or with a requester only those they may execute (XEP-0050 §2.2 lets the list depend on who asks).</summary>
    private List<DiscoItem> ListItems(Jid? requester)
    {
        var own = _endpoint?.Jid;
        return own is null
            ? []
            : _commands.Values
                .Where(c => requester is null || c.IsAllowed is null || c.IsAllowed(requester))
                .OrderBy(c => c.Node, StringComparer.Ordinal)
                .Select(c => new DiscoItem(own, c.Node, c.Name))
                .ToList();
    }

    private DiscoInfo? DescribeNode(string node)
    {
        if (node == XmppNamespaces.Commands)
        {
            return new DiscoInfo([new DiscoIdentity("automation", "command-list")], new HashSet<string>(StringComparer.Ordinal) { XmppNamespaces.DiscoItems }, []);
        }

        return _commands.TryGetValue(node, out var command)
            ? new DiscoInfo([new DiscoIdentity("automation", "command-node", command.Name)], new HashSet<string>(StringComparer.Ordinal) { XmppNamespaces.Commands, XmppNamespaces.DataForms }, [])
            : null;
    }

    private static XmppElement BuildAnswer(string node, string sessionId, AdHocCommandStatus status, AdHocResponse? response, string? language)
    {
        var command = new XmppElement("command", XmppNamespaces.Commands);
        command.SetAttribute("node", node);
        command.SetAttribute("sessionid", sessionId);
        command.SetAttribute("status", status switch
        {
            AdHocCommandStatus.Executing => "executing",
            AdHocCommandStatus.Completed => "completed",
            _ => "canceled",
        });
        command.SetAttribute("xml:lang", language);
        if (response is null)
        {
            return command;
        }

        if (status == AdHocCommandStatus.Executing)
        {
            var actions = command.AddChild("actions");
            actions.SetAttribute("execute", AdHocCommandResult.ActionName(response.DefaultAction));
            foreach (var action in response.Actions)
            {
                if (action is AdHocAction.Next or AdHocAction.Prev or AdHocAction.Complete)
                {
                    actions.AddChild(AdHocCommandResult.ActionName(action));
                }
            }
        }

        foreach (var note in response.Notes)
        {
            var element = command.AddChild("note", text: note.Text);
            element.SetAttribute("type", note.Type switch
            {
                AdHocNoteType.Warn => "warn",
                AdHocNoteType.Error => "error",
                _ => "info",
            });
        }

        if (response.Form is { } form)
        {
            command.Add(form.ToElement());
        }

        return command;
    }

    private static XmppStanzaException CommandError(StanzaError error, string specificCondition)
        => new(new StanzaError(error.Condition, error.Type, error.Text) { ApplicationCondition = new XmppElement(specificCondition, XmppNamespaces.Commands) });

    /// <summary>Removes and returns a live session of this requester and node; drops expired ones on the way.</summary>
    private Session? TakeSession(string sessionId, Jid from, string node)
    {
        lock (_sessions)
        {
            if (!_sessions.Remove(sessionId, out var session) || session.Expires < _time.GetUtcNow() || session.From != from || session.Node != node)
            {
                return null;
            }

            return session;
        }
    }

    private void PutSession(string sessionId, Session session)
    {
        lock (_sessions)
        {
            if (_sessions.Count >= MaxSessions)
            {
                var now = _time.GetUtcNow();
                foreach (var expired in _sessions.Where(s => s.Value.Expires < now).Select(s => s.Key).ToList())
                {
                    _sessions.Remove(expired);
                }

                if (_sessions.Count >= MaxSessions)
                {
                    throw new XmppStanzaException(StanzaError.ResourceConstraint("Too many open command sessions; try again later."));
                }
            }

            _sessions[sessionId] = session;
        }
    }

    private sealed record Command(string Node, string Name, AdHocCommandHandler Handler, Func<Jid, bool>? IsAllowed);

    private sealed record Session(Jid From, string Node, object? State, IReadOnlyList<AdHocAction> Actions, AdHocAction DefaultAction, DateTimeOffset Expires);
}
