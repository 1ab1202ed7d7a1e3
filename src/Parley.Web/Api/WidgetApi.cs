using System.Text;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Http.HttpResults;
using Parley.Web.Auth;
using Parley.Web.Storage;

namespace Parley.Web.Api;

/// <summary>
/// What the chat page in the widget's frame posts: the fields of the host site's tag (<c>data-site</c>, <c>data-user</c>, …),
/// and <see cref="Replace"/> once the visitor agreed to leave the identity they are signed in as.
/// </summary>
internal sealed record EmbedRequest(string? Site, string? User, string? Name, string? Ts, string? Sig, bool Replace = false);

/// <summary>
/// The embeddable widget's server side: signing in a host site's user from the token its server computed, and the
/// framing rules (which origins may show the chat in a frame).
/// </summary>
internal static class WidgetApi
{
    /// <summary>
    /// <c>POST /api/embed</c>: signs the visitor in as issuer <c>embed:&lt;site&gt;</c> + the site's user id — only from the
    /// chat page inside a frame on an allowed site (<see cref="FrameTickets"/>). A visitor already signed in as that
    /// identity keeps their session (the frame may post its token again). A visitor signed in as anybody else is not
    /// switched unless the request says <see cref="EmbedRequest.Replace"/>, which the page sends only after asking: a
    /// link or a frame must never hand somebody's browser to another identity, nor end a guest's conversation, silently.
    /// </summary>
    public static async Task<Results<Ok<SessionDto>, ProblemHttpResult>> SignInFromSiteAsync(
        EmbedRequest request, HttpContext context, FrameTickets frames, EmbedTokens tokens, LimitRepository limits, VisitorSignIn signIn, CancellationToken cancellationToken)
    {
        if (!frames.Accepts(context.Request))
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status403Forbidden, title: "A site can sign you in only in the chat widget on its own pages; reload the page.");
        }

        var check = tokens.Verify(request.Site, request.User, request.Name, request.Ts, request.Sig, out var identity);
        if (check != EmbedTokenCheck.Valid || identity is null)
        {
            return Refused(check);
        }

        var user = context.User;
        if (user.VisitorId() is { } current)
        {
            var issuer = user.FindFirst(VisitorIdentity.IssuerClaim)?.Value;
            if (issuer == identity.Issuer && user.FindFirst(VisitorIdentity.SubjectClaim)?.Value == identity.Subject)
            {
                return TypedResults.Ok(new SessionDto(true, user.Identity?.Name, current, false, null));
            }

            // The token stays unused, so the page can send it again with the visitor's answer.
            if (!request.Replace)
            {
                return TypedResults.Problem(
                    statusCode: StatusCodes.Status409Conflict,
                    title: "You are signed in to the chat as somebody else.",
                    extensions: new Dictionary<string, object?> { ["signedInAs"] = user.Identity?.Name, ["guest"] = issuer == VisitorIdentity.GuestIssuer });
            }
        }

        // Recorded in the store, so a token used on one gateway is refused on every other one sharing the database.
        if (!await limits.TryUseOnceAsync(EmbedTokens.UsedTokenKey(identity), identity.UsedUntil, cancellationToken))
        {
            return Refused(EmbedTokenCheck.Replayed);
        }

        var visitor = await signIn.SignInAsync(context, context.User, identity.Issuer, identity.Subject, DisplayName(identity.Name, identity.Subject), cancellationToken);
        return TypedResults.Ok(new SessionDto(true, visitor.DisplayName, visitor.Id, false, null));
    }

    /// <summary>The CSP frame-ancestors source list for the configured origins: <c>'none'</c> when there are none.</summary>
    public static string FrameAncestors(IEnumerable<string> allowedOrigins)
    {
        var origins = allowedOrigins.Select(NormalizeOrigin).OfType<string>().Distinct(StringComparer.Ordinal).ToList();
        return origins.Count == 0 ? "'none'" : string.Join(' ', origins);
    }

    /// <summary><c>scheme://host[:port]</c> of an http(s) origin, or <see langword="null"/> when the text is anything more or less than an origin.</summary>
    public static string? NormalizeOrigin(string? origin)
    {
        if (!Uri.TryCreate(origin, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https")
            || uri.UserInfo.Length > 0 || uri.AbsolutePath != "/" || uri.Query.Length > 0 || uri.Fragment.Length > 0
            || origin!.Any(char.IsWhiteSpace))
        {
            return null;
        }

        return uri.GetLeftPart(UriPartial.Authority);
    }

    /// <summary>Whether a configured site name can appear in an issuer: a host name, optionally with a port.</summary>
    public static bool IsSiteName(string? name)
        => name is { Length: >= 1 and <= 253 } && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or ':');

    /// <summary>The name a site's user is shown with: the site's name for them made valid, else their id, else "Visitor".</summary>
    internal static string DisplayName(string name, string subject)
    {
        // The site decides the name; cut to what the page shows rather than refusing the user.
        var trimmed = name.Length > ChatApi.MaxNameLength * 2 ? name[..(ChatApi.MaxNameLength * 2)] : name;
        var normalized = ChatApi.NormalizeName(trimmed);
        if (normalized is null)
        {
            var builder = new StringBuilder();
            foreach (var rune in trimmed.Normalize(NormalizationForm.FormC).EnumerateRunes())
            {
                if (builder.Length + rune.Utf16SequenceLength > ChatApi.MaxNameLength)
                {
                    break;
                }

                builder.Append(rune.ToString());
            }

            normalized = ChatApi.NormalizeName(builder.ToString());
        }

        return normalized ?? ChatApi.NormalizeName(subject.Length > ChatApi.MaxNameLength ? subject[..ChatApi.MaxNameLength] : subject) ?? "Visitor";
    }

    private static ProblemHttpResult Refused(EmbedTokenCheck check) => check switch
    {
        EmbedTokenCheck.Malformed => TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "The site's sign-in token is incomplete."),
        EmbedTokenCheck.Expired => TypedResults.Problem(statusCode: StatusCodes.Status403Forbidden, title: "The site's sign-in token has expired; reload the page."),
        EmbedTokenCheck.Replayed => TypedResults.Problem(statusCode: StatusCodes.Status403Forbidden, title: "The site's sign-in token was already used; reload the page."),
        _ => TypedResults.Problem(statusCode: StatusCodes.Status403Forbidden, title: "The site's sign-in token is not valid."),
    };
}
