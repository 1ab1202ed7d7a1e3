using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.WebUtilities;

namespace Parley.Web.Auth;

/// <summary>
/// The auth cookie's format: the sign-in session id and the cookie's own lifetime, protected with ASP.NET Data
/// Protection, and nothing else. The visitor's claims stay in the database (the <c>sessions</c> and <c>visitors</c>
/// rows) and are rebuilt on every request by <see cref="VisitorIdentity.ValidateSessionAsync"/>, which any gateway on
/// the same database can do. A cookie is ~150 characters (a whole ticket would be ~570), and a request carries no
/// deserialized copy of a ticket.
/// </summary>
/// <remarks>
/// Cookies written before this format (a full ticket in ASP.NET's own format) are still read, so visitors stay signed
/// in across the upgrade; <see cref="VisitorIdentity.ValidateSessionAsync"/> has them rewritten in this format.
/// </remarks>
internal sealed class SessionReferenceFormat : ISecureDataFormat<AuthenticationTicket>
{
    /// <summary>Set on a ticket read from a cookie in the earlier format, so it gets rewritten.</summary>
    public const string LegacyItem = "parley.legacy-cookie";

    private const byte Version = 1;

    // A session id is 32 characters (24 random bytes, base64url); anything much longer is not ours.
    private const int MaxSessionIdLength = 64;
    private const int MaxPayloadBytes = 128;

    private readonly IDataProtector _protector;
    private readonly ISecureDataFormat<AuthenticationTicket> _legacy;

    public SessionReferenceFormat(IDataProtectionProvider provider, string scheme)
    {
        _protector = provider.CreateProtector("Parley.Web.SessionReference", "v1");

        // The protector purposes ASP.NET's cookie handler uses by default, so earlier cookies still open.
        _legacy = new TicketDataFormat(provider.CreateProtector("Microsoft.AspNetCore.Authentication.Cookies.CookieAuthenticationMiddleware", scheme, "v2"));
    }

    public string Protect(AuthenticationTicket data) => Protect(data, null);

    public string Protect(AuthenticationTicket data, string? purpose)
    {
        var sessionId = data.Principal.SessionId();
        if (sessionId is null || sessionId.Length > MaxSessionIdLength)
        {
            throw new InvalidOperationException("A visitor's auth cookie needs the sign-in session id claim.");
        }

        using var buffer = new MemoryStream(MaxPayloadBytes);
        using (var writer = new BinaryWriter(buffer, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(Version);
            writer.Write(sessionId);
            writer.Write(data.Properties.IssuedUtc?.UtcTicks ?? 0);
            writer.Write(data.Properties.ExpiresUtc?.UtcTicks ?? 0);
            writer.Write(data.Properties.IsPersistent);
        }

        return WebEncoders.Base64UrlEncode(Protector(purpose).Protect(buffer.ToArray()));
    }

    public AuthenticationTicket? Unprotect(string? protectedText) => Unprotect(protectedText, null);

    public AuthenticationTicket? Unprotect(string? protectedText, string? purpose)
    {
        if (string.IsNullOrEmpty(protectedText))
        {
            return null;
        }

        byte[] payload;
        try
        {
            payload = Protector(purpose).Unprotect(WebEncoders.Base64UrlDecode(protectedText));
        }
        catch (Exception error) when (error is CryptographicException or FormatException)
        {
            return ReadLegacy(protectedText, purpose);
        }

        return Read(payload);
    }

    private IDataProtector Protector(string? purpose) => purpose is null ? _protector : _protector.CreateProtector(purpose);

    private static AuthenticationTicket? Read(byte[] payload)
    {
        if (payload.Length > MaxPayloadBytes)
        {
            return null;
        }

        try
        {
            using var reader = new BinaryReader(new MemoryStream(payload), Encoding.UTF8);
            if (reader.ReadByte() != Version)
            {
                return null;
            }

            var sessionId = reader.ReadString();
            var issued = reader.ReadInt64();
            var expires = reader.ReadInt64();
            var persistent = reader.ReadBoolean();
            if (sessionId.Length is 0 or > MaxSessionIdLength)
            {
                return null;
            }

            var properties = new AuthenticationProperties
            {
                IssuedUtc = ToTime(issued),
                ExpiresUtc = ToTime(expires),
                IsPersistent = persistent,
            };
            return new AuthenticationTicket(Reference(sessionId), properties, CookieAuthenticationDefaults.AuthenticationScheme);
        }
        catch (Exception error) when (error is EndOfStreamException or FormatException or ArgumentOutOfRangeException)
        {
            return null;
        }
    }

    private AuthenticationTicket? ReadLegacy(string protectedText, string? purpose)
    {
        var ticket = _legacy.Unprotect(protectedText, purpose);
        if (ticket?.Principal.SessionId() is not { Length: > 0 and <= MaxSessionIdLength } sessionId)
        {
            return null;
        }

        // Only the session id is believed, as for a cookie in the new format: the claims come from the database.
        ticket.Properties.Items[LegacyItem] = "1";
        return new AuthenticationTicket(Reference(sessionId), ticket.Properties, CookieAuthenticationDefaults.AuthenticationScheme);
    }

    private static ClaimsPrincipal Reference(string sessionId) => VisitorIdentity.SessionReference(sessionId);

    private static DateTimeOffset? ToTime(long ticks)
        => ticks == 0 ? null : new DateTimeOffset(ticks, TimeSpan.Zero);
}
