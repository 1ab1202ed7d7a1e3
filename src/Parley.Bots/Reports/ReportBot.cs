using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using Parley.Xmpp.Accounts;
using Parley.Xmpp.Core;
using Parley.Xmpp.Forms;
using Parley.Xmpp.Stanzas;
using Parley.Xmpp.Upload;

namespace Parley.Bots.Reports;

/// <summary>
/// The report bot: a user sends <c>1234</c> or <c>report 1234</c>, the bot fetches that project's report from
/// the configured source and delivers it, saying what it does at each step. <c>help</c> explains. Requests run
/// in the background, several users at once (at most <c>maxConcurrent</c>), one request per user at a time.
/// </summary>
public sealed partial class ReportBot : Bot
{
    private const int MaxEchoedInput = 40;
    private const string ProjectField = "project";
    private readonly Regex _projectPattern;
    private readonly IReportSource _source;
    private readonly Func<BotContext, IReportDelivery> _deliveryFactory;
    private readonly SemaphoreSlim _slots;
    private readonly Dictionary<Jid, TaskCompletionSource> _busy = [];
    private readonly List<Task> _running = [];
    private readonly Lock _lock = new();
    private IReportDelivery? _delivery;

    /// <summary>Creates the bot.</summary>
    /// <param name="projectPattern">What a project number looks like (matched against the whole input).</param>
    /// <param name="source">Where reports come from.</param>
    /// <param name="deliveryFactory">Creates the delivery for the bot's connection (e.g. <see cref="HttpUploadReportDelivery"/>).</param>
    /// <param name="maxConcurrent">How many requests run at once.</param>
    public ReportBot(Regex projectPattern, IReportSource source, Func<BotContext, IReportDelivery> deliveryFactory, int maxConcurrent = 4)
    {
        ArgumentNullException.ThrowIfNull(projectPattern);
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(deliveryFactory);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxConcurrent, 1);
        _projectPattern = projectPattern;
        _source = source;
        _deliveryFactory = deliveryFactory;
        _slots = new SemaphoreSlim(maxConcurrent, maxConcurrent);
    }

    /// <summary>The help text.</summary>
    public const string HelpText = "Send me a project number (for example 1234, or: report 1234) and I send you that project's status report. Send help to see this again.";

    /// <inheritdoc />
    public override string Status => "Send a project number for its report (help for help)";

    /// <inheritdoc />
    public override string Help => HelpText;

    /// <summary>
    /// "Get a report": a form with the project number; a valid one starts the same request a chat message would, and its
    /// progress and the file come in a chat with the requester's client.
    /// </summary>
    protected internal override void AddCommands(BotCommands commands)
    {
        ArgumentNullException.ThrowIfNull(commands);
        commands.Add("report", "Get a report", (request, _) => ValueTask.FromResult(request.IsFirstStage ? AskForProject() : Submit(request)));
    }

    private static AdHocResponse AskForProject()
    {
        var form = new DataForm(DataFormType.Form) { Title = "Get a report" };
        form.Instructions.Add("The project's number; the report comes as a file in a chat with you.");
        var field = form.GetOrAddField(ProjectField);
        field.Label = "Project number";
        field.Required = true;
        return AdHocResponse.Executing(form);
    }

    private AdHocResponse Submit(AdHocRequest request)
    {
        if (request.Action == AdHocAction.Cancel)
        {
            return AdHocResponse.Completed("Cancelled.");
        }

        var project = request.Form?[ProjectField]?.Value?.Trim() ?? string.Empty;
        if (!IsProjectNumber(project))
        {
            return AdHocResponse.Failed($"'{Shorten(project)}' is not a project number. {HelpText}");
        }

        if (TryTakeUser(request.From.Bare) is not null)
        {
            return AdHocResponse.Failed("I am still working on your previous request; one moment please.");
        }

        // The answers go where a chat message's would: to the client that ran the command.
        var asMessage = new Message { From = request.From, Type = MessageType.Chat, Body = $"report {project}" };
        Track(Task.Run(() => ServeAsync(asMessage, request.From.Bare, project, Context.Stopping), CancellationToken.None));
        return AdHocResponse.Completed($"Fetching report {project}; it follows in a chat with you.");
    }

    private static string Shorten(string input) => input.Length > MaxEchoedInput ? input[..MaxEchoedInput] + "…" : input;

    /// <inheritdoc />
    public override Task StartAsync(CancellationToken cancellationToken)
    {
        _delivery = _deliveryFactory(Context);
        _roomLinks = LinksInRooms ? new HttpUploadReportDelivery(Context.Client) : null;
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public override async ValueTask OnMessageAsync(Message message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        var text = message.Body!.Trim();
        if (text.Equals("help", StringComparison.OrdinalIgnoreCase) || text == "?")
        {
            await Context.ReplyAsync(message, HelpText, cancellationToken).ConfigureAwait(false);
            return;
        }

        var project = text.StartsWith("report ", StringComparison.OrdinalIgnoreCase) ? text["report ".Length..].Trim() : text;
        if (!IsProjectNumber(project))
        {
            await Context.ReplyAsync(message, $"'{Shorten(project)}' is not a project number. {HelpText}", cancellationToken).ConfigureAwait(false);
            return;
        }

        var user = message.From!.Bare;
        if (TryTakeUser(user) is { } previous)
        {
            // The previous answer may have gone out a moment ago, its request not yet finished: give it a second before
            // saying so, without holding up the message loop.
            Track(Task.Run(() => StartAfterAsync(previous, message, user, project), CancellationToken.None));
            return;
        }

        // The work runs beside the message loop so that other users are served meanwhile.
        Track(Task.Run(() => ServeAsync(message, user, project, Context.Stopping), CancellationToken.None));
    }

    /// <summary>Marks the user busy; returns <see langword="null"/> when that worked, else the running request's end.</summary>
    private Task? TryTakeUser(Jid user)
    {
        lock (_lock)
        {
            if (_busy.TryGetValue(user, out var running))
            {
                return running.Task;
            }

            _busy[user] = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return null;
        }
    }

    private async Task StartAfterAsync(Task previous, Message message, Jid user, string project)
    {
        await previous.WaitAsync(TimeSpan.FromSeconds(1), Context.Stopping).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        if (TryTakeUser(user) is not null)
        {
            await Context.ReplyAsync(message, "I am still working on your previous request; one moment please.", Context.Stopping).ConfigureAwait(false);
            return;
        }

        await ServeAsync(message, user, project, Context.Stopping).ConfigureAwait(false);
    }

    private void Track(Task work)
    {
        lock (_lock)
        {
            _running.RemoveAll(t => t.IsCompleted);
            _running.Add(work);
        }
    }

    /// <summary>Waits for running requests; when <paramref name="cancellationToken"/> fires the runner cancels them (<see cref="BotContext.Stopping"/>).</summary>
    /// <param name="cancellationToken">Signalled when the shutdown must end now.</param>
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        Task[] running;
        lock (_lock)
        {
            running = [.. _running];
        }

        var all = Task.WhenAll(running);
        await all.WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        if (!all.IsCompleted)
        {
            // The deadline passed: the runner has cancelled Context.Stopping; let the cancelled requests end before
            // their delivery is disposed under them.
            await all.WaitAsync(TimeSpan.FromSeconds(5), CancellationToken.None).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        _roomLinks?.Dispose();
        if (_delivery is IAsyncDisposable asyncDelivery)
        {
            await asyncDelivery.DisposeAsync().ConfigureAwait(false);
        }
        else
        {
            (_delivery as IDisposable)?.Dispose();
        }
    }

    internal bool IsProjectNumber(string text)
    {
        try
        {
            return text.Length is > 0 and <= 200 && _projectPattern.IsMatch(text);
        }
        catch (RegexMatchTimeoutException)
        {
            return false;
        }
    }

    // request: where the delivery goes (the asker's own client, or the room for a link in the room); room: set when asked in a room.
    private async Task ServeAsync(Message request, Jid user, string project, CancellationToken cancellationToken, RoomAsker? room = null)
    {
        try
        {
            await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                await ServeOneAsync(request, project, room, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                _slots.Release();
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            LogCancelled(Context.Logger, project, user.ToString());
        }
        catch (Exception ex) when (ex is XmppException or IOException or UnauthorizedAccessException)
        {
            // The connection dropped mid-answer, or the report file vanished or became unreadable.
            LogFailed(Context.Logger, project, user.ToString(), ex);
        }
        finally
        {
            TaskCompletionSource? done;
            lock (_lock)
            {
                _busy.Remove(user, out done);
            }

            done?.TrySetResult();
        }
    }

    private async Task ServeOneAsync(Message request, string project, RoomAsker? room, CancellationToken cancellationToken)
    {
        if (room is null)
        {
            await Context.ReplyAsync(request, $"Fetching report {project}…", cancellationToken).ConfigureAwait(false);
        }
        else
        {
            await Context.SayInRoomAsync(room.Room, $"Fetching report {project} for {room.Nick}…", cancellationToken).ConfigureAwait(false);
        }

        ReportFile? report;
        try
        {
            report = await _source.FetchAsync(project, cancellationToken).ConfigureAwait(false);
        }
        catch (ReportSourceException ex)
        {
            LogSourceFailed(Context.Logger, project, ex.Message, ex);
            Context.Metrics.Report(Context.Name, ex.Error == ReportSourceError.TooLarge ? ReportOutcome.TooLarge : ReportOutcome.SourceUnavailable);
            var text = ex.Error == ReportSourceError.TooLarge
                ? $"The report for project {project} is too large to send. {ex.Message}"
                : "The report source did not answer — try again later.";
            await SayAsync(request, room, text, cancellationToken).ConfigureAwait(false);
            return;
        }

        if (report is null)
        {
            Context.Metrics.Report(Context.Name, ReportOutcome.NotFound);
            await SayAsync(request, room, $"No report for project {project}.", cancellationToken).ConfigureAwait(false);
            return;
        }

        try
        {
            await Context.ReplyAsync(request, $"Sending {report.FileName} ({HttpUpload.FormatSize(report.Length)})…", cancellationToken).ConfigureAwait(false);
            var delivery = new ReportDeliveryRequest(request.From!, report, request);
            var result = room is { LinkInRoom: true }
                ? await _roomLinks!.DeliverLinkAsync(delivery, Context, $"{room.Nick}: here is the link to {report.FileName}:", cancellationToken).ConfigureAwait(false)
                : await _delivery!.DeliverAsync(delivery, Context, cancellationToken).ConfigureAwait(false);
            LogDelivered(Context.Logger, report.FileName, request.From!.ToString(), result.Method);
            Context.Metrics.Report(Context.Name, ReportOutcome.Delivered);
            Context.Metrics.Transfer(Context.Name, result.Method, report.Length);
            if (result.Confirmed)
            {
                await Context.ReplyAsync(request, "Delivered.", cancellationToken).ConfigureAwait(false);
            }
        }
        catch (ReportDeliveryException ex)
        {
            LogDeliveryFailed(Context.Logger, report.FileName, ex.InnerException?.Message ?? ex.Message);
            Context.Metrics.Report(Context.Name, ReportOutcome.DeliveryFailed);
            await Context.ReplyAsync(request, ex.Message, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            HttpReportSource.Delete(report);
        }
    }

    [LoggerMessage(8200, LogLevel.Information, "Delivered {FileName} to {User} by {Method}")]
    private static partial void LogDelivered(ILogger logger, string fileName, string user, string method);

    [LoggerMessage(8201, LogLevel.Warning, "Report source failed for project {Project}: {Reason}")]
    private static partial void LogSourceFailed(ILogger logger, string project, string reason, Exception exception);

    [LoggerMessage(8202, LogLevel.Warning, "Delivering {FileName} failed: {Reason}")]
    private static partial void LogDeliveryFailed(ILogger logger, string fileName, string reason);

    [LoggerMessage(8203, LogLevel.Information, "Request for project {Project} from {User} cancelled by shutdown")]
    private static partial void LogCancelled(ILogger logger, string project, string user);

    [LoggerMessage(8204, LogLevel.Warning, "Request for project {Project} from {User} failed")]
    private static partial void LogFailed(ILogger logger, string project, string user, Exception exception);
}
