using System.Security.Cryptography;

namespace Parley.Xmpp.FileTransfer;

/// <summary>Random identifiers for the streams and sessions we start.</summary>
internal static class SessionIds
{
    /// <summary>A stream or session id: <c>parley-</c> and 24 hex digits.</summary>
    public static string New() => "parley-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12));
}
