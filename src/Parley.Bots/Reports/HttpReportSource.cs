using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using Parley.Xmpp.Upload;

namespace Parley.Bots.Reports;

/// <summary>How the report bot authenticates to an HTTP report source.</summary>
public enum HttpAuthenticationKind
{
    /// <summary>No credentials.</summary>
    None,
    /// <summary>HTTP Basic (user name and password).</summary>
    Basic,
    /// <summary>A bearer token.</summary>
    Bearer,
}

/// <summary>
/// Reports from an HTTP(S) server: a URL template such as <c>https://intranet.example/reports/{project}.pdf</c>
/// (the number is percent-encoded into it). 404/410 mean "no report"; other errors, timeouts and network
/// failures mean "unavailable"; an answer larger than the maximum is refused while it streams to a temporary file.
/// The download is hashed (SHA-256) as it is written, and the report carries the value (<see cref="ReportFile.Sha256"/>).
/// </summary>
public sealed class HttpReportSource : IReportSource
{
    private const int BufferSize = 81_920;
    private readonly string _template;
    private readonly Uri _templateBase;
    private readonly HttpClient _http;
    private readonly TimeSpan _timeout;
    private readonly long _maxBytes;
    private readonly AuthenticationHeaderValue? _authorization;
    private readonly string _fileNameTemplate;
    private readonly string _temporaryFolder;

    /// <summary>Creates the source.</summary>
    /// <param name="urlTemplate">An absolute http/https URL containing <c>{project}</c>.</param>
    /// <param name="http">The HTTP client (its own timeout should be infinite; <paramref name="timeout"/> applies).</param>
    /// <param name="timeout">How long one fetch may take, body included.</param>
    /// <param name="maxBytes">The largest report accepted.</param>
    /// <param name="authentication">The credentials, if any: kind, user name, password or token.</param>
    /// <param name="fileNameTemplate">The file name shown to users, with <c>{project}</c>. Default <c>{project}.pdf</c>.</param>
    /// <param name="temporaryFolder">Where downloads are kept until delivered. Default a folder under the system temp folder.</param>
    /// <exception cref="ArgumentException">The template is not an absolute http(s) URL with <c>{project}</c>.</exception>
    public HttpReportSource(string urlTemplate, HttpClient http, TimeSpan timeout, long maxBytes,
        (HttpAuthenticationKind Kind, string? UserName, string? Secret) authentication = default,
        string fileNameTemplate = "{project}.pdf", string? temporaryFolder = null)
    {
        ArgumentNullException.ThrowIfNull(http);
        if (urlTemplate is null || !urlTemplate.Contains("{project}", StringComparison.Ordinal)
            || !Uri.TryCreate(urlTemplate.Replace("{project}", "0", StringComparison.Ordinal), UriKind.Absolute, out var sample)
            || (sample.Scheme != Uri.UriSchemeHttp && sample.Scheme != Uri.UriSchemeHttps))
        {
            throw new ArgumentException($"'{urlTemplate}' is not an absolute http(s) URL containing {{project}}.", nameof(urlTemplate));
        }

        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeout, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBytes, 1);
        _template = urlTemplate;
        _templateBase = sample;
        _http = http;
        _timeout = timeout;
        _maxBytes = maxBytes;
        _fileNameTemplate = fileNameTemplate;
        _temporaryFolder = temporaryFolder ?? Path.Combine(Path.GetTempPath(), "parley-reports");
        _authorization = authentication.Kind switch
        {
            HttpAuthenticationKind.Basic => new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{authentication.UserName}:{authentication.Secret}"))),
            HttpAuthenticationKind.Bearer => new AuthenticationHeaderValue("Bearer", authentication.Secret),
            _ => null,
        };
    }

    /// <summary>The URL for a project, or <see langword="null"/> when the number cannot be placed in the template safely.</summary>
    /// <param name="project">The project number.</param>
    public Uri? BuildUrl(string project)
    {
        ArgumentNullException.ThrowIfNull(project);
        var escaped = Uri.EscapeDataString(project);
        if (escaped is "." or ".." || escaped.Length == 0 || !Uri.TryCreate(_template.Replace("{project}", escaped, StringComparison.Ordinal), UriKind.Absolute, out var url))
        {
            return null;
        }

        // Dot segments must not lead the request to another server or another place than the template names.
        return url.Scheme == _templateBase.Scheme && url.Authority == _templateBase.Authority ? url : null;
    }

    /// <inheritdoc />
    public async Task<ReportFile?> FetchAsync(string project, CancellationToken cancellationToken)
    {
        if (BuildUrl(project) is not { } url || ReportFileNames.Build(_fileNameTemplate, project) is not { } fileName)
        {
            return null;
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_timeout);
        var folder = Path.Combine(_temporaryFolder, Guid.NewGuid().ToString("N"));
        var path = Path.Combine(folder, fileName);
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, url);
            request.Headers.Authorization = _authorization;
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
            if (response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Gone)
            {
                return null;
            }

            if (!response.IsSuccessStatusCode)
            {
                throw new ReportSourceException(ReportSourceError.Unavailable, $"{url.Host} answered {(int)response.StatusCode} {response.ReasonPhrase}.");
            }

            if (response.Content.Headers.ContentLength > _maxBytes)
            {
                throw TooLarge(response.Content.Headers.ContentLength.Value);
            }

            Directory.CreateDirectory(folder);
            long length = 0;

            // Hashing the bytes as they are written is what lets the file transfer skip its own pass over the file.
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var body = await response.Content.ReadAsStreamAsync(timeout.Token).ConfigureAwait(false);
            await using (body.ConfigureAwait(false))
            {
                var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, BufferSize, FileOptions.Asynchronous);
                await using (file.ConfigureAwait(false))
                {
                    var buffer = new byte[BufferSize];
                    int read;
                    while ((read = await body.ReadAsync(buffer, timeout.Token).ConfigureAwait(false)) > 0)
                    {
                        length += read;
                        if (length > _maxBytes)
                        {
                            throw TooLarge(length);
                        }

                        hash.AppendData(buffer, 0, read);
                        await file.WriteAsync(buffer.AsMemory(0, read), timeout.Token).ConfigureAwait(false);
                    }
                }
            }

            var contentType = response.Content.Headers.ContentType?.MediaType ?? HttpUpload.GuessContentType(fileName);
            return new ReportFile(path, fileName, length, contentType, IsTemporary: true) { Sha256 = Convert.ToHexStringLower(hash.GetHashAndReset()) };
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            DeleteFolder(folder);
            throw new ReportSourceException(ReportSourceError.Unavailable, $"{url.Host} did not answer within {_timeout.TotalSeconds:0.#} s.", ex);
        }
        catch (HttpRequestException ex)
        {
            DeleteFolder(folder);
            throw new ReportSourceException(ReportSourceError.Unavailable, $"{url.Host} could not be reached: {ex.Message}", ex);
        }
        catch
        {
            DeleteFolder(folder);
            throw;
        }
    }

    /// <summary>Deletes a downloaded report and its folder.</summary>
    /// <param name="report">A report this source returned.</param>
    internal static void Delete(ReportFile report)
    {
        if (report.IsTemporary)
        {
            DeleteFolder(Path.GetDirectoryName(report.Path)!);
        }
    }

    private ReportSourceException TooLarge(long size) =>
        new(ReportSourceError.TooLarge, $"The report is {HttpUpload.FormatSize(size)}; the limit is {HttpUpload.FormatSize(_maxBytes)}.");

    private static void DeleteFolder(string folder)
    {
        try
        {
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }
        }
        catch (IOException)
        {
            // A leftover temporary file is harmless; the next start of the system cleans the temp folder.
        }
        catch (UnauthorizedAccessException)
        {
            // Same as above.
        }
    }
}
