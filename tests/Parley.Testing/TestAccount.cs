using Parley.Xmpp.Core;

namespace Parley.Testing;

/// <summary>An account registered on a test server.</summary>
/// <param name="Localpart">The user name (the part before the @).</param>
/// <param name="Domain">The server's domain.</param>
/// <param name="Password">The password, random unless the test chose it.</param>
public sealed record TestAccount(string Localpart, string Domain, string Password)
{
    /// <summary>The bare JID, <c>localpart@domain</c>.</summary>
    public Jid Jid => Jid.Create(Localpart, Domain);

    /// <summary>The bare JID as text.</summary>
    public override string ToString() => $"{Localpart}@{Domain}";
}
