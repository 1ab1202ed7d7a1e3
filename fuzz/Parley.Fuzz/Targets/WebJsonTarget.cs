using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Parley.Web;
using Parley.Web.Api;
using Parley.Web.Configuration;
using Parley.Web.Storage;
using Parley.Web.Text;
using HttpJsonOptions = Microsoft.AspNetCore.Http.Json.JsonOptions;

namespace Parley.Fuzz.Targets;

/// <summary>
/// The gateway's JSON request bodies, read with the options the app configures for them, as each of the four request
/// types (guest sign-in, message, typing, a site's sign-in token), then checked the way their endpoints check them. A
/// site token is checked as sent and once more signed with the configured site's secret, so the fuzzer gets past the
/// signature to the timestamp, the used-token record and the display name.
/// </summary>
/// <remarks>
/// Clear error: <see cref="JsonException"/> (the framework answers it with 400). Anything else thrown while reading a
/// body or checking it would be a 500.
/// </remarks>
internal sealed class WebJsonTarget : FuzzTarget
{
    private const string Site = "shop.example.com";
    private const string Secret = "fuzzing-secret-of-at-least-32-characters";
    private static readonly JsonSerializerOptions RequestJson = CreateRequestJson();

    public override string Name => "webjson";

    public override string Description => "Parley.Web request bodies (GuestRequest, SendRequest, TypingRequest, EmbedRequest) and their checks";

    protected override void Feed(byte[] input)
    {
        if (Read<GuestRequest>(input) is { } guest)
        {
            CheckDisplayName(ChatApi.NormalizeName(guest.Name), "guest name");
        }

        if (Read<SendRequest>(input) is { } send && send.Text?.Trim() is { } text)
        {
            _ = TextRules.IsXmlSafe(text);
        }

        _ = Read<TypingRequest>(input)?.State;
        if (Read<EmbedRequest>(input) is { } embed)
        {
            CheckEmbed(embed);
        }
    }

    protected override bool IsClearError(Exception exception) => exception is JsonException;

    private static T? Read<T>(byte[] input)
        where T : class
    {
        try
        {
            using var body = new MemoryStream(input, writable: false);
            return JsonSerializer.Deserialize<T>(body, RequestJson);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static void CheckEmbed(EmbedRequest request)
    {
        var tokens = new EmbedTokens(Options.Create(Settings()), new FixedClock());
        _ = tokens.Verify(request.Site, request.User, request.Name, request.Ts, request.Sig, out _);
        if (request.User is null || request.Name is null || request.Ts is null)
        {
            return;
        }

        var signature = Convert.ToHexStringLower(HMACSHA256.HashData(
            Encoding.UTF8.GetBytes(Secret), Encoding.UTF8.GetBytes(EmbedTokens.SignedText(request.User, request.Name, request.Ts))));
        if (tokens.Verify(request.Site, request.User, request.Name, request.Ts, signature, out var identity) != EmbedTokenCheck.Valid || identity is null)
        {
            return;
        }

        // The used-token record must outlive the last moment the token is accepted, or a replay would pass after the purge.
        var issued = DateTimeOffset.FromUnixTimeSeconds(long.Parse(request.Ts, System.Globalization.CultureInfo.InvariantCulture));
        if (identity.UsedUntil < issued + Settings().Widget.TokenLifetime || EmbedTokens.UsedTokenKey(identity).Length > LimitRepository.MaxKeyLength)
        {
            throw new FuzzFindingException("A site token's used-token record expires before the token does, or its key is too long to record.");
        }

        CheckDisplayName(WidgetApi.DisplayName(identity.Name, identity.Subject), "site user's name");
    }

    private static void CheckDisplayName(string? name, string what)
    {
        if (name is not null && (name.Length is 0 or > ChatApi.MaxNameLength || !TextRules.IsXmlSafe(name) || name.Any(char.IsControl)))
        {
            throw new FuzzFindingException($"The {what} '{name}' is not a valid display name.");
        }
    }

    private static GatewayOptions Settings()
    {
        var options = new GatewayOptions();
        options.Widget.Sites.Add(new GatewayOptions.SiteSettings { Host = Site, Secret = Secret });
        return options;
    }

    private static JsonSerializerOptions CreateRequestJson()
    {
        var options = new HttpJsonOptions();
        GatewayApp.ConfigureRequestJson(options);
        return options.SerializerOptions;
    }

    /// <summary>2026-01-01T00:00:00Z, so a committed token's freshness does not depend on the day it is replayed.</summary>
    private sealed class FixedClock : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    }
}
