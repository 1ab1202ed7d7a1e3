using System.Reflection;
using Microsoft.Extensions.Logging;

namespace Parley.Testing.Architecture;

/// <summary>Operators filter and alert on log event ids, so within an assembly each id names exactly one message.</summary>
public static class LogEventIds
{
    /// <summary>The ids of <paramref name="assembly"/> declared by more than one <c>[LoggerMessage]</c> method, each with its methods.</summary>
    public static IReadOnlyList<string> Reused(Assembly assembly)
    {
        var declared = assembly.GetTypes()
            .SelectMany(t => t.GetMethods(BindingFlags.Static | BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
            .Select(m => (Method: m, Attribute: m.GetCustomAttribute<LoggerMessageAttribute>()))
            .Where(x => x.Attribute is not null)
            .ToList();
        if (declared.Count == 0)
        {
            throw new InvalidOperationException($"{assembly.GetName().Name} declares no [LoggerMessage] methods; is it the right assembly?");
        }

        return declared.GroupBy(x => x.Attribute!.EventId)
            .Where(g => g.Count() > 1)
            .Select(g => $"{g.Key}: {string.Join(", ", g.Select(x => $"{x.Method.DeclaringType!.FullName}.{x.Method.Name}"))}")
            .ToList();
    }
}
