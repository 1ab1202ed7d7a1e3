using System.Text;
using Parley.Xmpp.Core;

namespace Parley.Fuzz.Targets;

/// <summary>
/// JID parsing with PRECIS (RFC 7622) and XEP-0106 escaping. The input is read as UTF-8 (what an attribute holds) and,
/// when its length is even, also as UTF-16 (which reaches lone surrogates). Checks that Parse and TryParse agree, that a
/// parsed JID reads back as itself, and that unescaping an escaped localpart gives it back.
/// </summary>
/// <remarks>
/// Clear errors: <see cref="FormatException"/> from <see cref="Jid.Parse"/>/<see cref="Jid.WithResource"/> and
/// <see cref="ArgumentException"/> from <see cref="JidEscaping.Escape"/> (a localpart that starts or ends with a space),
/// each caught at its call.
/// </remarks>
internal sealed class JidTarget : FuzzTarget
{
    public override string Name => "jid";

    public override string Description => "Jid.Parse/TryParse (PRECIS), WithResource, JidEscaping";

    protected override void Feed(byte[] input)
    {
        Check(Encoding.UTF8.GetString(input));
        if (input.Length % 2 == 0)
        {
            Check(Encoding.Unicode.GetString(input));
        }
    }

    // Every documented error is caught where it is thrown; nothing may escape.
    protected override bool IsClearError(Exception exception) => false;

    private static void Check(string text)
    {
        var parsed = Jid.TryParse(text, out var jid);
        Jid? strict;
        try
        {
            strict = Jid.Parse(text);
        }
        catch (FormatException)
        {
            strict = null;
        }

        if (parsed != strict is not null || (jid is not null && jid != strict))
        {
            throw new FuzzFindingException($"Jid.Parse and Jid.TryParse disagree on '{text}'.");
        }

        if (jid is not null)
        {
            CheckParsed(jid);
        }

        CheckEscaping(text);
    }

    private static void CheckParsed(Jid jid)
    {
        var written = jid.ToString();
        if (!Jid.TryParse(written, out var again) || again != jid || again.ToString() != written)
        {
            throw new FuzzFindingException($"The JID '{written}' does not parse back to itself.");
        }

        var bare = jid.Bare;
        if (bare.Resource is not null || bare.Local != jid.Local || bare.Domain != jid.Domain)
        {
            throw new FuzzFindingException($"The bare JID of '{written}' is '{bare}'.");
        }

        try
        {
            var withResource = bare.WithResource(jid.Resource ?? jid.Domain);
            _ = withResource.ToString();
        }
        catch (FormatException)
        {
        }

        if (jid.Local is { } local)
        {
            var unescaped = JidEscaping.Unescape(local);
            _ = unescaped.Length;
        }
    }

    private static void CheckEscaping(string text)
    {
        string escaped;
        try
        {
            escaped = JidEscaping.Escape(text);
        }
        catch (ArgumentException)
        {
            return;
        }

        var unescaped = JidEscaping.Unescape(escaped);
        if (unescaped != text)
        {
            throw new FuzzFindingException($"Escaping '{text}' gave '{escaped}', which unescapes to '{unescaped}'.");
        }

        // An escaped localpart has none of the characters a localpart may not hold, so only PRECIS can refuse it.
        try
        {
            _ = Jid.Create(escaped, "example.org");
        }
        catch (FormatException)
        {
        }
    }
}
