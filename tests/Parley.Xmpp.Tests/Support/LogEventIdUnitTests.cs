using System.Reflection;
using Microsoft.Extensions.Logging;

namespace Parley.Xmpp.Tests.Support;

/// <summary>Operators filter and alert on event ids, so each id names exactly one message.</summary>
public sealed class LogEventIdUnitTests
{
    [Fact]
    public void Every_log_event_id_of_the_library_is_used_once()
    {
        var assembly = typeof(XmppEndpoint).Assembly;
        var ids = assembly.GetTypes()
            .SelectMany(t => t.GetMethods(BindingFlags.Static | BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
            .Select(m => (Method: m, Attribute: m.GetCustomAttribute<LoggerMessageAttribute>()))
            .Where(x => x.Attribute is not null)
            .ToList();

        Assert.NotEmpty(ids);
        var reused = ids.GroupBy(x => x.Attribute!.EventId).Where(g => g.Count() > 1)
            .Select(g => $"{g.Key}: {string.Join(", ", g.Select(x => $"{x.Method.DeclaringType!.Name}.{x.Method.Name}"))}");
        Assert.Empty(reused);
    }
}
