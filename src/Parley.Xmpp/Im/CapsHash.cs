using System.Security.Cryptography;
using System.Text;
using Parley.Xmpp.Core;
using Parley.Xmpp.Xml;

namespace Parley.Xmpp.Im;

/// <summary>The XEP-0115 §5 verification string: generation (§5.1) and the well-formedness checks of processing (§5.4).</summary>
internal static class CapsHash
{
    public const string Sha1 = "sha-1";

    /// <summary>Whether we can verify a ver made with this hash (IANA hash function names).</summary>
    public static bool IsSupported(string hash) => hash is Sha1 or "sha-256" or "sha-384" or "sha-512";

    /// <summary>Computes the ver of a disco#info answer as received, rejecting what §5.4 calls ill-formed.</summary>
    /// <param name="query">The <c>&lt;query xmlns='http://jabber.org/protocol/disco#info'/&gt;</c>.</param>
    /// <param name="hash">A supported hash name.</param>
    /// <param name="ver">The verification string.</param>
    /// <param name="problem">Why the answer is ill-formed.</param>
    public static bool TryCompute(XmppElement query, string hash, out string ver, out string? problem)
    {
        var identities = new List<DiscoIdentity>();
        var features = new List<string>();
        var forms = new List<XmppElement>();
        foreach (var child in query.Children)
        {
            if (child.Namespace == XmppNamespaces.DiscoInfo && child.Name == "identity")
            {
                if (child.GetAttribute("category") is not { } category || child.GetAttribute("type") is not { } type)
                {
                    ver = string.Empty;
                    problem = "an identity lacks its category or type";
                    return false;
                }

                identities.Add(new DiscoIdentity(category, type, child.GetAttribute("name"), child.GetAttribute("xml:lang")));
            }
            else if (child.Namespace == XmppNamespaces.DiscoInfo && child.Name == "feature" && child.GetAttribute("var") is { } feature)
            {
                features.Add(feature);
            }
            else if (child.Namespace == XmppNamespaces.DataForms && child.Name == "x")
            {
                forms.Add(child);
            }
        }

        return TryCompute(identities, features, forms, hash, out ver, out problem);
    }

    /// <summary>Computes the ver of identities, features and XEP-0128 forms.</summary>
    public static bool TryCompute(IEnumerable<DiscoIdentity> identities, IEnumerable<string> features, IEnumerable<XmppElement> forms, string hash, out string ver, out string? problem)
    {
        ver = string.Empty;
        var input = new StringBuilder(512);

        var sortedIdentities = identities.ToList();
        sortedIdentities.Sort(CompareIdentities);
        for (var i = 0; i < sortedIdentities.Count; i++)
        {
            var identity = sortedIdentities[i];
            if (i > 0 && CompareIdentities(sortedIdentities[i - 1], identity) == 0)
            {
                problem = $"the identity {identity.Category}/{identity.Type} appears twice";
                return false;
            }

            input.Append(identity.Category).Append('/').Append(identity.Type).Append('/')
                .Append(identity.Language).Append('/').Append(identity.Name).Append('<');
        }

        var sortedFeatures = features.ToList();
        sortedFeatures.Sort(OctetComparer.Instance);
        for (var i = 0; i < sortedFeatures.Count; i++)
        {
            if (i > 0 && sortedFeatures[i - 1] == sortedFeatures[i])
            {
                problem = $"the feature {sortedFeatures[i]} appears twice";
                return false;
            }

            input.Append(sortedFeatures[i]).Append('<');
        }

        var typedForms = new SortedDictionary<string, XmppElement>(OctetComparer.Instance);
        foreach (var form in forms)
        {
            var formTypeFields = form.Elements("field", XmppNamespaces.DataForms).Where(f => f.GetAttribute("var") == "FORM_TYPE").ToList();
            if (formTypeFields.Count != 1 || formTypeFields[0].GetAttribute("type") != "hidden")
            {
                continue; // §5.4 3.6: a form without a (hidden) FORM_TYPE does not count.
            }

            var formTypes = formTypeFields[0].Elements("value", XmppNamespaces.DataForms).Select(v => v.Text ?? string.Empty).Distinct(StringComparer.Ordinal).ToList();
            if (formTypes.Count > 1)
            {
                problem = "a FORM_TYPE has several different values";
                return false;
            }

            if (formTypes.Count == 0)
            {
                continue;
            }

            if (!typedForms.TryAdd(formTypes[0], form))
            {
                problem = $"two forms have the FORM_TYPE {formTypes[0]}";
                return false;
            }
        }

        foreach (var (formType, form) in typedForms)
        {
            input.Append(formType).Append('<');
            var fields = form.Elements("field", XmppNamespaces.DataForms)
                .Select(f => (Var: f.GetAttribute("var") ?? string.Empty, Field: f))
                .Where(f => f.Var.Length > 0 && f.Var != "FORM_TYPE")
                .OrderBy(f => f.Var, OctetComparer.Instance);
            foreach (var (name, field) in fields)
            {
                input.Append(name).Append('<');
                foreach (var value in field.Elements("value", XmppNamespaces.DataForms).Select(v => v.Text ?? string.Empty).Order(OctetComparer.Instance))
                {
                    input.Append(value).Append('<');
                }
            }
        }

        var bytes = Encoding.UTF8.GetBytes(input.ToString());
        byte[] digest = hash switch
        {
            Sha1 => SHA1.HashData(bytes),
            "sha-256" => SHA256.HashData(bytes),
            "sha-384" => SHA384.HashData(bytes),
            "sha-512" => SHA512.HashData(bytes),
            _ => throw new ArgumentException($"Unsupported caps hash '{hash}'.", nameof(hash)),
        };
        ver = Convert.ToBase64String(digest);
        problem = null;
        return true;
    }

    private static int CompareIdentities(DiscoIdentity a, DiscoIdentity b)
    {
        var order = OctetComparer.Instance.Compare(a.Category, b.Category);
        if (order == 0)
        {
            order = OctetComparer.Instance.Compare(a.Type, b.Type);
        }

        if (order == 0)
        {
            order = OctetComparer.Instance.Compare(a.Language ?? string.Empty, b.Language ?? string.Empty);
        }

        // Not required by §5.1 (category/type/lang is unique), but makes duplicates adjacent for the §5.4 check.
        return order != 0 ? order : OctetComparer.Instance.Compare(a.Name ?? string.Empty, b.Name ?? string.Empty);
    }

    /// <summary>RFC 4790 "i;octet" over UTF-8, which is code point order; UTF-16 ordinal order differs for characters above U+FFFF.</summary>
    private sealed class OctetComparer : IComparer<string>
    {
        public static readonly OctetComparer Instance = new();

        public int Compare(string? x, string? y)
        {
            if (ReferenceEquals(x, y))
            {
                return 0;
            }

            if (x is null || y is null)
            {
                return x is null ? -1 : 1;
            }

            int i = 0, j = 0;
            while (i < x.Length && j < y.Length)
            {
                Rune.DecodeFromUtf16(x.AsSpan(i), out var a, out var aLength);
                Rune.DecodeFromUtf16(y.AsSpan(j), out var b, out var bLength);
                if (a.Value != b.Value)
                {
                    return a.Value < b.Value ? -1 : 1;
                }

                i += aLength;
                j += bLength;
            }

            return (i == x.Length, j == y.Length) switch
            {
                (true, true) => 0,
                (true, false) => -1,
                _ => 1,
            };
        }
    }
}
