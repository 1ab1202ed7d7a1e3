using System.Diagnostics.Metrics;

namespace Parley.Bots;

/// <summary>
/// The bots' counters in the standard .NET metrics (meter <c>Parley.Bots</c>; every measurement is tagged with the bot's
/// name): <c>parley.bots.messages</c> by verdict, <c>parley.bots.reports</c> by outcome, <c>parley.bots.transfers</c> and
/// <c>parley.bots.transfer.bytes</c> by method. Read them with <c>dotnet-counters monitor -n Parley.Bots --counters Parley.Bots</c>.
/// </summary>
public sealed class BotMetrics : IDisposable
{
    /// <summary>The meter's name.</summary>
    public const string MeterName = "Parley.Bots";

    private readonly Meter? _ownMeter;
    private readonly Counter<long> _messages;
    private readonly Counter<long> _reports;
    private readonly Counter<long> _transfers;
    private readonly Counter<long> _transferBytes;

    /// <summary>Creates the instruments on a meter from <paramref name="meterFactory"/> (the host's), or on a meter of its own.</summary>
    /// <param name="meterFactory">The host's meter factory; <see langword="null"/> for a stand-alone meter (disposed with this object).</param>
    public BotMetrics(IMeterFactory? meterFactory = null)
    {
        var meter = meterFactory?.Create(MeterName) ?? (_ownMeter = new Meter(MeterName));
        _messages = meter.CreateCounter<long>("parley.bots.messages", "{message}", "Messages that reached a bot, by verdict (accepted, or why they were ignored).");
        _reports = meter.CreateCounter<long>("parley.bots.reports", "{request}", "Report requests, by outcome.");
        _transfers = meter.CreateCounter<long>("parley.bots.transfers", "{file}", "Files delivered, by method.");
        _transferBytes = meter.CreateCounter<long>("parley.bots.transfer.bytes", "By", "Bytes of the files delivered, by method.");
    }

    internal void Message(string bot, MessageVerdict verdict)
        => _messages.Add(1, new("bot", bot), new("verdict", VerdictName(verdict)));

    internal void Report(string bot, ReportOutcome outcome)
        => _reports.Add(1, new("bot", bot), new("outcome", OutcomeName(outcome)));

    internal void Transfer(string bot, string method, long bytes)
    {
        _transfers.Add(1, new("bot", bot), new("method", method));
        _transferBytes.Add(bytes, new("bot", bot), new("method", method));
    }

    /// <summary>Disposes the meter when this object created its own.</summary>
    public void Dispose() => _ownMeter?.Dispose();

    private static string VerdictName(MessageVerdict verdict) => verdict switch
    {
        MessageVerdict.Accepted => "accepted",
        MessageVerdict.NotChat => "not_chat",
        MessageVerdict.NoBody => "no_body",
        MessageVerdict.FromSelf => "from_self",
        MessageVerdict.OldOfflineMessage => "old_offline",
        MessageVerdict.AutoSubmitted => "auto_submitted",
        MessageVerdict.NotAllowed => "not_allowed",
        MessageVerdict.RateLimited => "rate_limited",
        _ => "other",
    };

    private static string OutcomeName(ReportOutcome outcome) => outcome switch
    {
        ReportOutcome.Delivered => "delivered",
        ReportOutcome.NotFound => "not_found",
        ReportOutcome.SourceUnavailable => "source_unavailable",
        ReportOutcome.TooLarge => "too_large",
        ReportOutcome.DeliveryFailed => "delivery_failed",
        _ => "other",
    };
}

/// <summary>How a report request ended.</summary>
internal enum ReportOutcome
{
    Delivered,
    NotFound,
    SourceUnavailable,
    TooLarge,
    DeliveryFailed,
}
