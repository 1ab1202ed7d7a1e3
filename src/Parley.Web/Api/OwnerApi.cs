using System.Text.Json;
using Parley.Web.Xmpp;

namespace Parley.Web.Api;

/// <summary>
/// Who the visitor talks to. The owner's avatar is served from the gateway itself (the page's policy loads images from
/// this origin only): with the type its bytes proved, an entity tag, and revalidated on every use.
/// </summary>
internal static class OwnerApi
{
    public const string AvatarPath = "/api/owner/avatar";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>GET /api/owner/avatar: the image, 304 when the browser has it, 404 when the owner has none.</summary>
    public static IResult GetAvatar(HttpContext context, OwnerProfile profile)
    {
        if (profile.Current.Avatar is not { } avatar)
        {
            return TypedResults.NotFound();
        }

        var headers = context.Response.Headers;
        headers.ETag = avatar.ETag;
        headers.CacheControl = "no-cache";
        headers.XContentTypeOptions = "nosniff";
        if (context.Request.Headers.IfNoneMatch.Any(tag => tag is not null && tag.Split(',').Any(t => t.Trim() == avatar.ETag || t.Trim() == "*")))
        {
            return TypedResults.StatusCode(StatusCodes.Status304NotModified);
        }

        return TypedResults.Bytes(avatar.Data, avatar.ContentType);
    }

    /// <summary>The <c>profile</c> event's data: the name, the avatar's URL (versioned by its tag) and the status text, each possibly null.</summary>
    public static string Serialize(OwnerProfileView profile)
    {
        var avatar = profile.Avatar is { } a ? AvatarPath + "?v=" + Uri.EscapeDataString(a.ETag.Trim('"')) : null;
        return JsonSerializer.Serialize(new { name = profile.Name, avatar, status = profile.Status }, Json);
    }
}
