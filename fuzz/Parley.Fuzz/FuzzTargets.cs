using Parley.Fuzz.Targets;

namespace Parley.Fuzz;

/// <summary>Every fuzz target, by name.</summary>
internal static class FuzzTargets
{
    public static IReadOnlyList<FuzzTarget> All { get; } =
    [
        new XmlStreamTarget(),
        new JidTarget(),
        new ScramTarget(),
        new DnsTarget(),
        new Socks5Target(),
        new DataFormTarget(),
        new WebJsonTarget(),
    ];

    /// <summary>The target of that name, or null.</summary>
    public static FuzzTarget? Find(string name) => All.FirstOrDefault(t => t.Name == name);
}
