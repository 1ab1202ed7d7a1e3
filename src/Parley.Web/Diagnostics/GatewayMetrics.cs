using System.Diagnostics.Metrics;

namespace Parley.Web.Diagnostics;

/// <summary>
/// The gateway's counters in the standard .NET metrics (meter <c>Parley.Web</c>): read them with
/// <c>dotnet-counters monitor -n Parley.Web --counters Parley.Web</c> or any OpenTelemetry exporter.
/// </summary>
internal sealed class GatewayMetrics
{
    /// <summary>The meter's name.</summary>
    public const string MeterName = "Parley.Web";

    private readonly Counter<long> _messages;
    private readonly Counter<long> _signIns;
    private readonly Counter<long> _files;
    private readonly UpDownCounter<long> _activeVisitors;

    public GatewayMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _messages = meter.CreateCounter<long>(
            "parley.web.messages", "{message}", "Chat messages: direction=to_owner (sent to the owner's server) or to_visitor (the owner's replies, stored).");
        _signIns = meter.CreateCounter<long>("parley.web.sign_ins", "{sign-in}", "Visitor sign-ins, by method (guest or a provider's name).");
        _files = meter.CreateCounter<long>("parley.web.files", "{file}", "Files that went through the gateway, by direction.");
        _activeVisitors = meter.CreateUpDownCounter<long>("parley.web.visitors.active", "{visitor}", "Visitors with at least one open tab.");
    }

    /// <summary>A visitor's first tab opened (called once per visitor, balanced by <see cref="VisitorInactive"/>).</summary>
    public void VisitorActive() => _activeVisitors.Add(1);

    /// <summary>A visitor's last tab closed.</summary>
    public void VisitorInactive() => _activeVisitors.Add(-1);

    /// <summary>A visitor's message left for the owner.</summary>
    public void MessageToOwner() => _messages.Add(1, new KeyValuePair<string, object?>("direction", "to_owner"));

    /// <summary>An owner's reply was stored for a visitor.</summary>
    public void MessageToVisitor() => _messages.Add(1, new KeyValuePair<string, object?>("direction", "to_visitor"));

    /// <summary>A visitor signed in.</summary>
    public void SignedIn(string method) => _signIns.Add(1, new KeyValuePair<string, object?>("method", method));

    /// <summary>A file went through the gateway (<paramref name="direction"/>: to_owner or to_visitor).</summary>
    public void File(string direction) => _files.Add(1, new KeyValuePair<string, object?>("direction", direction));
}
