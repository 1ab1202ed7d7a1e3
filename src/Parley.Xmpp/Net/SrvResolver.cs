namespace Parley.Xmpp.Net;

/// <summary>A DNS SRV record (RFC 2782).</summary>
internal readonly record struct SrvRecord(string Target, int Port, int Priority, int Weight);
