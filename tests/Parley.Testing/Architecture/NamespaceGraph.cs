using Mono.Cecil;

namespace Parley.Testing.Architecture;

/// <summary>
/// Which namespaces of a compiled assembly use which, read from its metadata and IL: base types, interfaces, fields,
/// signatures, locals and every type, method and field a method body touches. Compiler-generated types (async state
/// machines, closures) count for the type they were generated from.
/// </summary>
public sealed class NamespaceGraph
{
    private readonly Dictionary<string, Dictionary<string, string>> _edges = new(StringComparer.Ordinal);

    private NamespaceGraph()
    {
    }

    /// <summary>The namespaces in the graph.</summary>
    public IEnumerable<string> Namespaces => _edges.Keys.Concat(_edges.Values.SelectMany(v => v.Keys)).Distinct(StringComparer.Ordinal);

    /// <summary>Reads the assembly at <paramref name="path"/>; <paramref name="group"/> maps a namespace to its node, or to null to leave it out.</summary>
    public static NamespaceGraph Read(string path, Func<string, string?> group)
    {
        using var assembly = AssemblyDefinition.ReadAssembly(path);
        var graph = new NamespaceGraph();
        var name = assembly.Name.Name;
        foreach (var type in assembly.MainModule.GetTypes())
        {
            var from = group(OuterNamespace(type));
            if (from is null)
            {
                continue;
            }

            foreach (var (reference, via) in References(type))
            {
                foreach (var target in Expand(reference))
                {
                    if (IsDefinedIn(target, name) && group(OuterNamespace(target)) is { } to && to != from)
                    {
                        graph.Add(from, to, $"{type.FullName} uses {target.FullName} ({via})");
                    }
                }
            }
        }

        return graph;
    }

    /// <summary>Reads the namespaces of the assembly at <paramref name="path"/> that start with <paramref name="prefix"/>.</summary>
    public static NamespaceGraph ReadUnder(string path, string prefix)
        => Read(path, ns => ns.StartsWith(prefix, StringComparison.Ordinal) ? ns : null);

    /// <summary>Fails, naming every circle and an example reference per edge, when namespaces use each other.</summary>
    public void AssertNoCycles()
    {
        var cycles = Cycles();
        Xunit.Assert.True(cycles.Count == 0, "Namespaces that use each other:\n" + string.Join('\n', cycles));
    }

    /// <summary>Whether <paramref name="from"/> uses <paramref name="to"/> directly.</summary>
    public bool DependsOn(string from, string to) => _edges.TryGetValue(from, out var targets) && targets.ContainsKey(to);

    /// <summary>
    /// Every group of namespaces that depend on each other in a circle (strongly connected components of more than one
    /// namespace), each described by its members and one example reference per edge inside it.
    /// </summary>
    public IReadOnlyList<string> Cycles()
    {
        var cycles = new List<string>();
        foreach (var component in StronglyConnectedComponents().Where(c => c.Count > 1))
        {
            var members = component.ToHashSet(StringComparer.Ordinal);
            var examples = component
                .SelectMany(from => _edges.TryGetValue(from, out var targets) ? targets.Where(t => members.Contains(t.Key)).Select(t => $"  {from} -> {t.Key}: {t.Value}") : [])
                .Order(StringComparer.Ordinal);
            cycles.Add($"{string.Join(" <-> ", component.Order(StringComparer.Ordinal))}\n{string.Join('\n', examples)}");
        }

        return cycles;
    }

    private void Add(string from, string to, string example)
    {
        if (!_edges.TryGetValue(from, out var targets))
        {
            _edges[from] = targets = new Dictionary<string, string>(StringComparer.Ordinal);
        }

        targets.TryAdd(to, example);
    }

    // Tarjan's algorithm; the graphs are a few dozen namespaces, so recursion depth is no concern.
    private List<List<string>> StronglyConnectedComponents()
    {
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        var low = new Dictionary<string, int>(StringComparer.Ordinal);
        var stack = new Stack<string>();
        var onStack = new HashSet<string>(StringComparer.Ordinal);
        var result = new List<List<string>>();

        void Visit(string node)
        {
            index[node] = low[node] = index.Count;
            stack.Push(node);
            onStack.Add(node);
            foreach (var next in _edges.TryGetValue(node, out var targets) ? targets.Keys : Enumerable.Empty<string>())
            {
                if (!index.ContainsKey(next))
                {
                    Visit(next);
                    low[node] = Math.Min(low[node], low[next]);
                }
                else if (onStack.Contains(next))
                {
                    low[node] = Math.Min(low[node], index[next]);
                }
            }

            if (low[node] == index[node])
            {
                var component = new List<string>();
                string member;
                do
                {
                    member = stack.Pop();
                    onStack.Remove(member);
                    component.Add(member);
                }
                while (member != node);
                result.Add(component);
            }
        }

        foreach (var node in Namespaces.Order(StringComparer.Ordinal).ToList())
        {
            if (!index.ContainsKey(node))
            {
                Visit(node);
            }
        }

        return result;
    }

    private static IEnumerable<(TypeReference Target, string Via)> References(TypeDefinition type)
    {
        if (type.BaseType is { } baseType)
        {
            yield return (baseType, "base type");
        }

        foreach (var implemented in type.Interfaces)
        {
            yield return (implemented.InterfaceType, "interface");
        }

        foreach (var field in type.Fields)
        {
            yield return (field.FieldType, $"field {field.Name}");
        }

        foreach (var method in type.Methods)
        {
            yield return (method.ReturnType, $"{method.Name} returns it");
            foreach (var parameter in method.Parameters)
            {
                yield return (parameter.ParameterType, $"{method.Name} takes it");
            }

            if (!method.HasBody)
            {
                continue;
            }

            foreach (var variable in method.Body.Variables)
            {
                yield return (variable.VariableType, $"a local of {method.Name}");
            }

            foreach (var instruction in method.Body.Instructions)
            {
                switch (instruction.Operand)
                {
                    case TypeReference used:
                        yield return (used, $"in {method.Name}");
                        break;
                    case MethodReference called:
                        yield return (called.DeclaringType, $"{method.Name} calls {called.Name}");
                        break;
                    case FieldReference field:
                        yield return (field.DeclaringType, $"{method.Name} reads or writes {field.Name}");
                        break;
                }
            }
        }
    }

    /// <summary>The plain types a reference is built from: <c>List&lt;ChatMessage[]&gt;</c> is List and ChatMessage.</summary>
    private static IEnumerable<TypeReference> Expand(TypeReference? type)
    {
        switch (type)
        {
            case null or GenericParameter:
                yield break;
            case GenericInstanceType generic:
                foreach (var part in Expand(generic.ElementType).Concat(generic.GenericArguments.SelectMany(Expand)))
                {
                    yield return part;
                }

                break;
            case TypeSpecification specification:
                foreach (var part in Expand(specification.ElementType))
                {
                    yield return part;
                }

                break;
            default:
                yield return type;
                break;
        }
    }

    private static bool IsDefinedIn(TypeReference type, string assembly)
        => type.Scope is ModuleDefinition || (type.Scope is AssemblyNameReference reference && reference.Name == assembly);

    private static string OuterNamespace(TypeReference type)
    {
        while (type.IsNested)
        {
            type = type.DeclaringType;
        }

        return type.Namespace;
    }
}
