using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.StaticFiles;
using Microsoft.Extensions.Options;
using Parley.Web.Configuration;
using Parley.Web.Diagnostics;
using Parley.Web.Storage;
using Parley.Web.Text;

namespace Parley.Web.Api;

/// <summary>
/// Files from visitors: <c>POST /api/conversations/{id}/files</c> takes the raw bytes (the name in <c>X-File-Name</c>,
/// URL-encoded), stores them under the files folder with a random unguessable name, and sends the owner a message whose
/// body is exactly the download URL plus <c>jabber:x:oob</c>. <c>GET /files/{key}/{name}</c> serves them: the key is the
/// capability (the owner's client fetches without a cookie), and every file is an attachment of type
/// <c>application/octet-stream</c> whatever it contains, so nothing a visitor uploads is ever rendered by the browser.
/// </summary>
internal static class FileApi
{
    public const string NameHeader = "X-File-Name";
    public const string DownloadPrefix = "/files/";
    private const int KeyBytes = 32;
    private static readonly FileExtensionContentTypeProvider Types = new();

    public static RouteGroupBuilder MapFileApi(this RouteGroupBuilder conversation, IEndpointRouteBuilder routes)
    {
        conversation.MapPost("/files", UploadAsync).AddEndpointFilter(ChatApi.RequireAntiforgeryAsync).RequireRequestLimit(ChatApi.SendPolicy);
        routes.MapGet(DownloadPrefix + "{key}/{name}", Download);
        return conversation;
    }

    /// <summary>The folder files are kept in: <c>Parley:Files:Directory</c>, or <c>parley-web-files</c> next to the database.</summary>
    public static string Folder(GatewayOptions options) => options.Files.Directory is { Length: > 0 } path
        ? Path.GetFullPath(path)
        : Path.Combine(Path.GetDirectoryName(Path.GetFullPath(options.DatabasePath)) ?? ".", "parley-web-files");

    private static async Task<Results<Accepted<MessageDto>, NotFound, ValidationProblem, ProblemHttpResult>> UploadAsync(
        string id, HttpContext context, MessageRepository messages, GatewayMetrics metrics, IOptions<GatewayOptions> options, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        if (!settings.Files.Enabled)
        {
            return TypedResults.NotFound();
        }

        var header = context.Request.Headers[NameHeader].ToString();
        var name = header.Length <= 3 * 4 * FileNames.MaxLength ? FileNames.Clean(Uri.UnescapeDataString(header)) : null;
        if (name is null)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["name"] = [$"The file's name, URL-encoded, in the {NameHeader} header."] });
        }

        var max = settings.Files.MaxBytes;
        if (context.Request.ContentLength > max)
        {
            return TooLarge(max);
        }

        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = max + 1;
        }

        var folder = Directory.CreateDirectory(Folder(settings)).FullName;
        var key = Base64UrlKey();
        var part = Path.Combine(folder, key + ".part");
        long size;
        try
        {
            size = await CopyLimitedAsync(context.Request.Body, part, max, cancellationToken);
        }
        catch
        {
            File.Delete(part);
            throw;
        }

        if (size is < 1 || size > max)
        {
            File.Delete(part);
            return size > max ? TooLarge(max) : TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["file"] = ["The file is empty."] });
        }

        File.Move(part, Path.Combine(folder, key));

        // The type is only a hint for the owner's client; the download is always served as opaque bytes.
        var type = Types.TryGetContentType(name, out var known) ? known : "application/octet-stream";
        var url = settings.PublicLink(DownloadPrefix + key + "/" + Uri.EscapeDataString(name));
        var message = await messages.AddVisitorFileAsync(id, new Attachment(url, name, size, type), cancellationToken);
        metrics.File("to_owner");
        return TypedResults.Accepted($"/api/conversations/{id}/messages", MessageDto.Of(message));
    }

    private static IResult Download(string key, string name, HttpContext context, IOptions<GatewayOptions> options)
    {
        if (key.Length != 43 || !key.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
        {
            return TypedResults.NotFound();
        }

        var path = Path.Combine(Folder(options.Value), key);
        if (!File.Exists(path))
        {
            return TypedResults.NotFound();
        }

        var headers = context.Response.Headers;
        headers.ContentSecurityPolicy = "default-src 'none'; sandbox";
        headers.CacheControl = "private, max-age=86400";

        // Fetched by the owner's client from another origin, and opened by the visitor from the page.
        headers["Cross-Origin-Resource-Policy"] = "cross-origin";
        return TypedResults.PhysicalFile(path, "application/octet-stream", FileNames.Clean(name) ?? "file", enableRangeProcessing: true);
    }

    private static async Task<long> CopyLimitedAsync(Stream body, string path, long max, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(81920);
        try
        {
            await using var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.Asynchronous);
            long total = 0;
            int read;
            while ((read = await body.ReadAsync(buffer, cancellationToken)) > 0)
            {
                total += read;
                if (total > max)
                {
                    return total;
                }

                await file.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
            }

            return total;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static string Base64UrlKey()
        => Convert.ToBase64String(RandomNumberGenerator.GetBytes(KeyBytes)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static ProblemHttpResult TooLarge(long max)
        => TypedResults.Problem(statusCode: StatusCodes.Status413PayloadTooLarge, title: $"Files may be at most {max} bytes.");
}
