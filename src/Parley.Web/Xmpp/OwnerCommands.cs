using System.Globalization;
using System.Text;
using Microsoft.Extensions.Options;
using Parley.Web.Configuration;
using Parley.Web.Storage;
using Parley.Web.Text;
using Parley.Xmpp.Accounts;
using Parley.Xmpp.Core;
using Parley.Xmpp.Forms;

namespace Parley.Web.Xmpp;

/// <summary>
/// The owner's controls as ad-hoc commands (XEP-0050) on the gateway's address, for any XMPP client: the active
/// visitors, block and unblock, end a conversation, the away message. Only the owner and the configured administrators
/// see or run them; anyone else gets an empty command list and <c>forbidden</c>, and learns nothing about visitors.
/// </summary>
internal sealed partial class OwnerCommands
{
    public const string ActiveNode = "parley-visitors";
    public const string BlockNode = "parley-block";
    public const string UnblockNode = "parley-unblock";
    public const string EndNode = "parley-end";
    public const string AwayNode = "parley-away";

    /// <summary>The most visitors one command lists (a form several clients show as one drop-down).</summary>
    public const int MaxListed = 50;

    /// <summary>The longest away message, in UTF-16 code units.</summary>
    public const int MaxAwayMessageLength = 1000;

    private const string VisitorField = "visitor";
    private const string AddressField = "block-address";
    private const string AwayField = "message";
    private const string AddressPrefix = "address:";
    private const string VisitorPrefix = "visitor:";

    private readonly OwnerControlRepository _controls;
    private readonly PresenceTracker _presence;
    private readonly TimeProvider _time;
    private readonly IReadOnlySet<Jid> _controllers;
    private readonly TimeSpan _addressBlockTime;
    private readonly TimeSpan _activeWindow;
    private readonly ILogger<OwnerCommands> _logger;

    public OwnerCommands(IOptions<GatewayOptions> options, OwnerControlRepository controls, PresenceTracker presence, TimeProvider time, ILogger<OwnerCommands> logger)
    {
        var settings = options.Value;
        _controls = controls;
        _presence = presence;
        _time = time;
        _controllers = settings.Controllers;
        _addressBlockTime = settings.AddressBlockTime;
        _activeWindow = settings.ActiveVisitorWindow;
        _logger = logger;
        Host = new AdHocCommandHost();
        Host.AddCommand(ActiveNode, "Active visitors", ListActiveAsync, IsController);
        Host.AddCommand(BlockNode, "Block a visitor", BlockAsync, IsController);
        Host.AddCommand(UnblockNode, "Unblock a visitor", UnblockAsync, IsController);
        Host.AddCommand(EndNode, "End a conversation", EndAsync, IsController);
        Host.AddCommand(AwayNode, "Set the away message", SetAwayAsync, IsController);
    }

    /// <summary>Raised after a visitor was blocked, unblocked or their conversation ended: their open tabs must learn it.</summary>
    public event Action<string>? VisitorChanged;

    /// <summary>The command host, to be offered on the link (<see cref="VisitorLink.OfferCommands"/>).</summary>
    public AdHocCommandHost Host { get; }

    private bool IsController(Jid requester) => _controllers.Contains(requester.Bare);

    private async ValueTask<AdHocResponse> ListActiveAsync(AdHocRequest request, CancellationToken cancellationToken)
    {
        var visitors = await ActiveAsync(cancellationToken);
        if (visitors.Count == 0)
        {
            return AdHocResponse.Completed("No active visitors.");
        }

        var table = new DataForm(DataFormType.Result) { Title = "Active visitors" };
        foreach (var (name, label) in (ReadOnlySpan<(string, string)>)[("name", "Name"), ("signed-in", "Signed in"), ("since", "Since"), ("page", "Page"), ("unanswered", "Unanswered"), ("id", "Visitor")])
        {
            table.Reported.Add(new DataFormField(name) { Label = label });
        }

        var text = new StringBuilder();
        foreach (var visitor in visitors)
        {
            table.Items.Add(
            [
                new DataFormField("name").SetValue(visitor.DisplayName),
                new DataFormField("signed-in").SetValue(SignedInWith(visitor)),
                new DataFormField("since").SetValue(visitor.Since.ToString("u", CultureInfo.InvariantCulture)),
                new DataFormField("page").SetValue(visitor.Page ?? ""),
                new DataFormField("unanswered").SetInteger(visitor.Unanswered),
                new DataFormField("id").SetValue(visitor.Id),
            ]);
            text.Append(CultureInfo.InvariantCulture, $"{visitor.DisplayName} ({SignedInWith(visitor)}) since {visitor.Since:u}, {visitor.Unanswered} unanswered");
            text.Append(visitor.Page is { } page ? ", from " + page : "").Append(visitor.Blocked ? ", blocked" : "").Append(CultureInfo.InvariantCulture, $" [{visitor.Id}]\n");
        }

        return AdHocResponse.Completed(text.ToString().TrimEnd(), table);
    }

    private async ValueTask<AdHocResponse> BlockAsync(AdHocRequest request, CancellationToken cancellationToken)
    {
        if (request.IsFirstStage)
        {
            var visitors = (await ActiveAsync(cancellationToken)).Where(static v => !v.Blocked).ToList();
            if (visitors.Count == 0)
            {
                return AdHocResponse.Completed("No active visitor to block.");
            }

            var form = new DataForm(DataFormType.Form)
            {
                Title = "Block a visitor",
                Instructions = { "A blocked visitor's page says the conversation is closed; signing in again with the same identity does not reopen it." },
            };
            form.Fields.Add(VisitorChoice(visitors));
            var byAddress = new DataFormField(AddressField, DataFormFieldType.Boolean) { Label = $"A guest: also refuse guest sign-ins from their address for {Describe(_addressBlockTime)}" };
            form.Fields.Add(byAddress.SetBoolean(false));
            return AdHocResponse.Executing(form);
        }

        if (request.Action != AdHocAction.Complete)
        {
            return AdHocResponse.Failed("Nothing was blocked.");
        }

        var visitor = await ChosenVisitorAsync(request, cancellationToken);
        if (visitor is null)
        {
            return AdHocResponse.Failed("Choose one of the listed visitors.");
        }

        await _controls.SetBlockedAsync(visitor.Id, blocked: true, cancellationToken);
        var note = $"{visitor.DisplayName} is blocked.";
        if (request.Form?[AddressField]?.GetBoolean() == true && visitor.Issuer == VisitorIssuers.Guest && visitor.Address is { } address)
        {
            var until = _time.GetUtcNow() + _addressBlockTime;
            await _controls.BlockAddressAsync(address, visitor.Id, until, cancellationToken);
            note += $" Guests from their address are refused until {until:u}.";
        }

        Log.Blocked(_logger, visitor.Id, request.From.Bare.ToString());
        VisitorChanged?.Invoke(visitor.Id);
        return AdHocResponse.Completed(note);
    }

    private async ValueTask<AdHocResponse> UnblockAsync(AdHocRequest request, CancellationToken cancellationToken)
    {
        if (request.IsFirstStage)
        {
            var field = new DataFormField(VisitorField, DataFormFieldType.ListSingle) { Label = "Lift", Required = true };
            foreach (var blocked in await _controls.ListBlockedAsync(MaxListed, cancellationToken))
            {
                field.Options.Add(new DataFormOption(VisitorPrefix + blocked.Id, $"{blocked.DisplayName} ({SignedInWith(blocked)})"));
            }

            foreach (var block in await _controls.ListAddressBlocksAsync(MaxListed, cancellationToken))
            {
                field.Options.Add(new DataFormOption(AddressPrefix + block.Address, $"guests from {block.Address} (until {block.Until:u})"));
            }

            if (field.Options.Count == 0)
            {
                return AdHocResponse.Completed("Nobody is blocked.");
            }

            var form = new DataForm(DataFormType.Form) { Title = "Unblock a visitor" };
            form.Fields.Add(field);
            return AdHocResponse.Executing(form);
        }

        var choice = request.Action == AdHocAction.Complete ? request.Form?[VisitorField]?.Value : null;
        if (choice is { Length: <= 300 } && choice.StartsWith(AddressPrefix, StringComparison.Ordinal))
        {
            return await _controls.UnblockAddressAsync(choice[AddressPrefix.Length..], cancellationToken)
                ? AdHocResponse.Completed($"Guests from {choice[AddressPrefix.Length..]} may sign in again.")
                : AdHocResponse.Failed("That address is not blocked.");
        }

        if (choice is { Length: <= 100 } && choice.StartsWith(VisitorPrefix, StringComparison.Ordinal)
            && await _controls.FindSummaryAsync(choice[VisitorPrefix.Length..], cancellationToken) is { Blocked: true } visitor)
        {
            await _controls.SetBlockedAsync(visitor.Id, blocked: false, cancellationToken);
            Log.Unblocked(_logger, visitor.Id, request.From.Bare.ToString());
            VisitorChanged?.Invoke(visitor.Id);
            return AdHocResponse.Completed($"{visitor.DisplayName} is no longer blocked.");
        }

        return AdHocResponse.Failed("Choose one of the listed blocks.");
    }

    private async ValueTask<AdHocResponse> EndAsync(AdHocRequest request, CancellationToken cancellationToken)
    {
        if (request.IsFirstStage)
        {
            var visitors = await ActiveAsync(cancellationToken);
            if (visitors.Count == 0)
            {
                return AdHocResponse.Completed("No active conversation.");
            }

            var form = new DataForm(DataFormType.Form)
            {
                Title = "End a conversation",
                Instructions = { "The visitor sees that the conversation ended and can start a new one." },
            };
            form.Fields.Add(VisitorChoice(visitors));
            return AdHocResponse.Executing(form);
        }

        var visitor = request.Action == AdHocAction.Complete ? await ChosenVisitorAsync(request, cancellationToken) : null;
        if (visitor is null || await _controls.EndConversationAsync(visitor.Id, cancellationToken) is null)
        {
            return AdHocResponse.Failed("Choose one of the listed visitors.");
        }

        Log.Ended(_logger, visitor.Id, request.From.Bare.ToString());
        VisitorChanged?.Invoke(visitor.Id);
        return AdHocResponse.Completed($"The conversation with {visitor.DisplayName} has ended.");
    }

    private async ValueTask<AdHocResponse> SetAwayAsync(AdHocRequest request, CancellationToken cancellationToken)
    {
        if (request.IsFirstStage)
        {
            var form = new DataForm(DataFormType.Form)
            {
                Title = "Set the away message",
                Instructions = { "Shown to visitors while you are offline. Leave it empty for the standard text." },
            };
            var current = await _controls.GetSettingAsync(OwnerControlRepository.AwayMessageSetting, cancellationToken);
            form.Fields.Add(new DataFormField(AwayField, DataFormFieldType.TextMulti) { Label = "Away message" }.SetValues(current is null ? [] : current.Split('\n')));
            return AdHocResponse.Executing(form);
        }

        if (request.Action != AdHocAction.Complete || request.Form?[AwayField] is not { } field)
        {
            return AdHocResponse.Failed("The away message was not changed.");
        }

        var text = field.GetText().Replace("\r\n", "\n", StringComparison.Ordinal).Trim();
        if (text.Length > MaxAwayMessageLength || !TextRules.IsXmlSafe(text))
        {
            return AdHocResponse.Failed($"The away message must be at most {MaxAwayMessageLength} characters of text.");
        }

        await _controls.SetSettingAsync(OwnerControlRepository.AwayMessageSetting, text.Length == 0 ? null : text, cancellationToken);
        return AdHocResponse.Completed(text.Length == 0 ? "The away message is cleared." : "The away message is set.");
    }

    private Task<List<VisitorSummary>> ActiveAsync(CancellationToken cancellationToken)
        => _controls.ListActiveAsync(_time.GetUtcNow() - _activeWindow, _presence.Present(MaxListed), MaxListed, cancellationToken);

    private async Task<VisitorSummary?> ChosenVisitorAsync(AdHocRequest request, CancellationToken cancellationToken)
        => request.Form?[VisitorField]?.Value is { Length: > 0 and <= 100 } id ? await _controls.FindSummaryAsync(id, cancellationToken) : null;

    private static DataFormField VisitorChoice(List<VisitorSummary> visitors)
    {
        var field = new DataFormField(VisitorField, DataFormFieldType.ListSingle) { Label = "Visitor", Required = true };
        foreach (var visitor in visitors)
        {
            field.Options.Add(new DataFormOption(visitor.Id, $"{visitor.DisplayName} ({SignedInWith(visitor)}, {visitor.Unanswered} unanswered)"));
        }

        return field;
    }

    /// <summary>"guest", or the provider with the verified e-mail address when it gave one.</summary>
    internal static string SignedInWith(VisitorSummary visitor)
        => visitor.Issuer == VisitorIssuers.Guest
            ? "guest"
            : visitor.Email is { } email ? $"{visitor.Issuer}, {email}" : visitor.Issuer;

    private static string Describe(TimeSpan time)
        => time.TotalHours >= 1 && time.TotalHours % 1 == 0 ? $"{time.TotalHours:0} h" : $"{time.TotalMinutes:0} min";

    private static partial class Log
    {
        [LoggerMessage(EventId = 140, Level = LogLevel.Information, Message = "Visitor {Visitor} blocked by {Controller}")]
        public static partial void Blocked(ILogger logger, string visitor, string controller);

        [LoggerMessage(EventId = 141, Level = LogLevel.Information, Message = "Visitor {Visitor} unblocked by {Controller}")]
        public static partial void Unblocked(ILogger logger, string visitor, string controller);

        [LoggerMessage(EventId = 142, Level = LogLevel.Information, Message = "The conversation with visitor {Visitor} ended by {Controller}")]
        public static partial void Ended(ILogger logger, string visitor, string controller);
    }
}
