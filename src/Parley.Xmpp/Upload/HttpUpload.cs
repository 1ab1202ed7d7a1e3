using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using Microsoft.Extensions.Logging;
using Parley.Xmpp.Core;
using Parley.Xmpp.Forms;
using Parley.Xmpp.Im;
using Parley.Xmpp.Net;
using Parley.Xmpp.Stanzas;
using Parley.Xmpp.Xml;

namespace Parley.Xmpp.Upload;

/// <summary>
/// HTTP file upload (XEP-0363): finds the server's upload service, requests a slot, PUTs the file streaming from
/// disk, and sends the link so that clients show it as a file (body = the URL, plus <c>jabber:x:oob</c>).
/// </summary>
/// <remarks>
/// One instance per client; safe to use from several tasks at once. The service found is remembered for the
/// life of the instance. Without an <see cref="HttpClient"/> of its own the instance creates one that trusts
/// the certificates pinned in the client's options (a self-signed server usually serves HTTPS with the same
/// certificate); dispose the instance to release it.
/// </remarks>
/// <example>
/// <code>
/// using var upload = new HttpUpload(client);
/// var url = await upload.SendFileAsync(Jid.Parse("juliet@example.org"), "/srv/reports/1234.pdf");
/// </code>
/// </example>
public sealed partial class HttpUpload : IDisposable
{
    /// <summary>The XEP-0363 namespace (<c>urn:xmpp:http:upload:0</c>).</summary>
    public const string Namespace = "urn:xmpp:http:upload:0";

    private const int MaxFileNameLength = 255;
    private const int MaxUrlLength = 8 * 1024;
    private const int MaxHeaders = 16;
    private static readonly string[] s_allowedHeaders = ["Authorization", "Cookie", "Expires"];

    private readonly XmppClient _client;
    private readonly HttpClient _http;
    private readonly bool _ownsHttp;
    private readonly HttpUploadOptions _options;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _discovery = new(1, 1);
    private HttpUploadService? _service;

    /// <summary>Creates the uploader for a client.</summary>
    /// <param name="client">The connected (or soon connected) client whose server's upload service is used.</param>
    /// <param name="options">Timeouts and an optional fixed service; defaults when <see langword="null"/>.</param>
    /// <param name="httpClient">The HTTP client for the PUT; its own <see cref="HttpClient.Timeout"/> still applies, so set it to infinite and use <see cref="HttpUploadOptions.PutTimeout"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    public HttpUpload(XmppClient client, HttpUploadOptions? options = null, HttpClient? httpClient = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        _client = client;
        _options = options ?? new HttpUploadOptions();
        _options.Validate();
        _logger = client.LoggerFactory.CreateLogger<HttpUpload>();
        if (httpClient is null)
        {
            var pins = client.ConnectionOptions.TrustedCertificateSha256.ToArray();
            var handler = new SocketsHttpHandler
            {
                ConnectTimeout = client.ConnectionOptions.ConnectTimeout,
                PooledConnectionIdleTimeout = TimeSpan.FromMinutes(1),
            };
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, errors) => CertificatePinning.IsTrusted(certificate, errors, pins);
            _http = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
            _ownsHttp = true;
        }
        else
        {
            _http = httpClient;
        }
    }

    /// <summary>Finds the upload service: the configured one, else the server itself or one of its disco#items announcing <see cref="Namespace"/>.</summary>
    /// <param name="cancellationToken">Cancels the search.</param>
    /// <returns>The service, or <see langword="null"/> when the server has none.</returns>
    /// <exception cref="XmppNotConnectedException">The client has never connected.</exception>
    public async Task<HttpUploadService?> DiscoverAsync(CancellationToken cancellationToken = default)
    {
        if (Volatile.Read(ref _service) is { } known)
        {
            return known;
        }

        var domain = _client.Jid?.Domain ?? throw new XmppNotConnectedException(_client.State, "The client has not connected yet.");
        await _discovery.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_service is not null)
            {
                return _service;
            }

            IEnumerable<Jid> candidates;
            if (_options.Service is { } configured)
            {
                candidates = [configured];
            }
            else
            {
                var items = await QueryAsync((disco, token) => disco.QueryItemsAsync(Jid.Create(null, domain), cancellationToken: token), cancellationToken).ConfigureAwait(false) ?? [];
                candidates = new[] { Jid.Create(null, domain) }.Concat(items.Where(i => i.Node is null).Select(i => i.Jid).Distinct().Take(_options.MaxItemsToProbe));
            }

            foreach (var candidate in candidates)
            {
                var info = await QueryAsync((disco, token) => disco.QueryInfoAsync(candidate, cancellationToken: token), cancellationToken).ConfigureAwait(false);
                if (info is not null && info.Supports(Namespace))
                {
                    _service = new HttpUploadService(candidate, ReadMaxFileSize(info));
                    LogServiceFound(_logger, candidate.ToString(), _service.MaxFileSize);
                    return _service;
                }
            }

            LogNoService(_logger, domain);
            return null;
        }
        finally
        {
            _discovery.Release();
        }
    }

    /// <summary>Asks the upload service for a slot (XEP-0363 §4).</summary>
    /// <param name="fileName">The file name the service should keep (no folders).</param>
    /// <param name="size">The exact size in bytes.</param>
    /// <param name="contentType">The MIME type, or <see langword="null"/> for none.</param>
    /// <param name="cancellationToken">Cancels waiting.</param>
    /// <exception cref="HttpUploadException">No service, the file is too large, the service refused, or its answer is unusable.</exception>
    /// <exception cref="TimeoutException">The service did not answer.</exception>
    /// <exception cref="ArgumentException">The file name is empty, too long or has a folder part, or the size is negative.</exception>
    public async Task<HttpUploadSlot> RequestSlotAsync(string fileName, long size, string? contentType = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(fileName);
        if (fileName.Length > MaxFileNameLength || fileName.AsSpan().IndexOfAny('/', '\\', '\0') >= 0)
        {
            throw new ArgumentException($"'{fileName}' is not a plain file name of at most {MaxFileNameLength} characters.", nameof(fileName));
        }

        ArgumentOutOfRangeException.ThrowIfNegative(size);
        var service = await DiscoverAsync(cancellationToken).ConfigureAwait(false)
            ?? throw new HttpUploadException(HttpUploadError.NoService, $"The server {_client.Jid?.Domain} offers no HTTP file upload (XEP-0363).");
        if (service.MaxFileSize is { } max && size > max)
        {
            throw TooLarge(fileName, size, max);
        }

        var request = new XmppElement("request", Namespace);
        request.SetAttribute("filename", fileName);
        request.SetAttribute("size", size.ToString(CultureInfo.InvariantCulture));
        request.SetAttribute("content-type", contentType);
        Iq answer;
        try
        {
            answer = await _client.SendIqAsync(new Iq(IqType.Get, service.Jid, request), cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (XmppStanzaException ex)
        {
            var tooLarge = ex.Error.ApplicationCondition is { Name: "file-too-large", Namespace: Namespace } condition ? condition : null;
            if (tooLarge is not null || (ex.Condition == "not-acceptable" && service.MaxFileSize is not null && size > service.MaxFileSize))
            {
                var limit = long.TryParse(tooLarge?.ElementText("max-file-size", Namespace), NumberStyles.None, CultureInfo.InvariantCulture, out var l) ? l : service.MaxFileSize;
                throw TooLarge(fileName, size, limit, ex);
            }

            DateTimeOffset? retry = null;
            if (ex.Error.ApplicationCondition is { Name: "retry", Namespace: Namespace } retryElement && Delay.TryParseStamp(retryElement.GetAttribute("stamp"), out var stamp))
            {
                retry = stamp;
            }

            throw new HttpUploadException(HttpUploadError.SlotRefused, $"The upload service {service.Jid} refused a slot for '{fileName}' ({size} bytes): {ex.Error}.", ex) { RetryAfter = retry };
        }

        return ParseSlot(answer, service.Jid);
    }

    /// <summary>Uploads a file: checks the service's limit first, requests a slot and PUTs the file streaming from disk.</summary>
    /// <param name="path">The file.</param>
    /// <param name="contentType">The MIME type; guessed from the extension when <see langword="null"/>.</param>
    /// <param name="progress">Receives the number of bytes sent so far.</param>
    /// <param name="fileName">The name to announce; the file's own name when <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancels the upload.</param>
    /// <returns>The slot; its <see cref="HttpUploadSlot.GetUrl"/> is where the file can now be fetched.</returns>
    /// <exception cref="HttpUploadException">No service, too large (nothing was sent), slot refused, HTTP error status, network failure or timeout.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="TimeoutException">The service did not answer the slot request.</exception>
    public async Task<HttpUploadSlot> UploadAsync(string path, string? contentType = null, IProgress<long>? progress = null, string? fileName = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var file = new FileInfo(path);
        if (!file.Exists)
        {
            throw new FileNotFoundException($"No file '{path}' to upload.", path);
        }

        var name = fileName ?? file.Name;
        var size = file.Length;
        contentType ??= GuessContentType(name);
        var slot = await RequestSlotAsync(name, size, contentType, cancellationToken).ConfigureAwait(false);
        await PutAsync(slot, file.FullName, size, contentType, progress, cancellationToken).ConfigureAwait(false);
        LogUploaded(_logger, name, size, slot.GetUrl.OriginalString);
        return slot;
    }

    /// <summary>Uploads a file and sends its link to <paramref name="to"/> as a message clients show as a file (<see cref="OutOfBand.CreateLinkMessage"/>).</summary>
    /// <param name="to">The recipient.</param>
    /// <param name="path">The file.</param>
    /// <param name="progress">Receives the number of bytes sent so far.</param>
    /// <param name="cancellationToken">Cancels the upload.</param>
    /// <returns>The download URL that was sent.</returns>
    /// <exception cref="HttpUploadException">The upload failed (see <see cref="UploadAsync"/>).</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="TimeoutException">The service did not answer the slot request.</exception>
    public async Task<Uri> SendFileAsync(Jid to, string path, IProgress<long>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(to);
        var slot = await UploadAsync(path, progress: progress, cancellationToken: cancellationToken).ConfigureAwait(false);
        await _client.SendAsync(OutOfBand.CreateLinkMessage(to, slot.GetUrl), cancellationToken).ConfigureAwait(false);
        return slot.GetUrl;
    }

    /// <summary>A MIME type for a file name's extension (the common document, image, audio, video and archive types), else <c>application/octet-stream</c>.</summary>
    /// <param name="fileName">The file name.</param>
    public static string GuessContentType(string fileName) => Path.GetExtension(fileName).ToUpperInvariant() switch
    {
        ".PDF" => "application/pdf",
        ".TXT" or ".LOG" => "text/plain",
        ".CSV" => "text/csv",
        ".HTML" or ".HTM" => "text/html",
        ".JSON" => "application/json",
        ".XML" => "application/xml",
        ".ZIP" => "application/zip",
        ".GZ" => "application/gzip",
        ".PNG" => "image/png",
        ".JPG" or ".JPEG" => "image/jpeg",
        ".GIF" => "image/gif",
        ".WEBP" => "image/webp",
        ".SVG" => "image/svg+xml",
        ".MP3" => "audio/mpeg",
        ".OGG" or ".OGA" or ".OPUS" => "audio/ogg",
        ".MP4" => "video/mp4",
        ".WEBM" => "video/webm",
        ".DOCX" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ".XLSX" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ".PPTX" => "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        ".ODT" => "application/vnd.oasis.opendocument.text",
        ".ODS" => "application/vnd.oasis.opendocument.spreadsheet",
        _ => "application/octet-stream",
    };

    /// <summary>Releases the HTTP client the instance created (not one passed in).</summary>
    public void Dispose()
    {
        if (_ownsHttp)
        {
            _http.Dispose();
        }

        _discovery.Dispose();
    }

    internal static HttpUploadSlot ParseSlot(Iq answer, Jid service)
    {
        var slot = answer.Element("slot", Namespace) ?? throw new HttpUploadException(HttpUploadError.InvalidSlot, $"The upload service {service} answered without a <slot/>.");
        var put = slot.Element("put", Namespace);
        var putUrl = ParseUrl(put?.GetAttribute("url"), "PUT", service);
        var getUrl = ParseUrl(slot.Element("get", Namespace)?.GetAttribute("url"), "GET", service);
        var headers = new List<KeyValuePair<string, string>>();
        foreach (var header in put!.Elements("header", Namespace))
        {
            // §5: strip newlines, keep only the allowed names, keep the order.
            var name = StripNewlines(header.GetAttribute("name") ?? string.Empty).Trim();
            var allowed = Array.Find(s_allowedHeaders, a => string.Equals(a, name, StringComparison.OrdinalIgnoreCase));
            if (allowed is null)
            {
                continue;
            }

            if (headers.Count == MaxHeaders)
            {
                throw new HttpUploadException(HttpUploadError.InvalidSlot, $"The upload service {service} sent more than {MaxHeaders} headers.");
            }

            headers.Add(new(allowed, StripNewlines(header.Text ?? string.Empty)));
        }

        return new HttpUploadSlot(putUrl, headers, getUrl);
    }

    private static Uri ParseUrl(string? text, string which, Jid service)
    {
        if (text is null || text.Length > MaxUrlLength || !Uri.TryCreate(text, UriKind.Absolute, out var url) || (url.Scheme != Uri.UriSchemeHttps && url.Scheme != Uri.UriSchemeHttp))
        {
            throw new HttpUploadException(HttpUploadError.InvalidSlot, $"The upload service {service} gave no usable {which} URL ('{text}').");
        }

        return url;
    }

    private static string StripNewlines(string value) => value.Replace("\r", string.Empty, StringComparison.Ordinal).Replace("\n", string.Empty, StringComparison.Ordinal);

    private static HttpUploadException TooLarge(string fileName, long size, long? max, Exception? inner = null) =>
        new(HttpUploadError.FileTooLarge, max is { } m
            ? $"'{fileName}' is {FormatSize(size)}; the upload service accepts at most {FormatSize(m)}."
            : $"'{fileName}' ({FormatSize(size)}) is too large for the upload service.", inner)
        { MaxFileSize = max };

    /// <summary>A size for people: bytes, KB, MB or GB with one decimal (1 KB = 1024 bytes).</summary>
    /// <param name="bytes">The size.</param>
    public static string FormatSize(long bytes) => bytes switch
    {
        < 1024 => string.Create(CultureInfo.InvariantCulture, $"{bytes} bytes"),
        < 1024 * 1024 => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1024.0:0.#} KB"),
        < 1024L * 1024 * 1024 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (1024.0 * 1024):0.#} MB"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{bytes / (1024.0 * 1024 * 1024):0.#} GB"),
    };

    private static long? ReadMaxFileSize(DiscoInfo info)
    {
        foreach (var extension in info.Extensions)
        {
            var form = DataForm.Parse(extension);
            if (form.FormType == Namespace && long.TryParse(form["max-file-size"]?.Value, NumberStyles.None, CultureInfo.InvariantCulture, out var max))
            {
                return max;
            }
        }

        return null;
    }

    /// <summary>A disco query with the disco timeout; an error answer or a timeout counts as "nothing here".</summary>
    private async Task<T?> QueryAsync<T>(Func<ServiceDiscovery, CancellationToken, Task<T>> query, CancellationToken cancellationToken)
        where T : class
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.DiscoTimeout);
        try
        {
            return await query(_client.Disco, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is XmppStanzaException or TimeoutException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            LogDiscoSkipped(_logger, ex.Message);
            return null;
        }
    }

    private async Task PutAsync(HttpUploadSlot slot, string path, long size, string contentType, IProgress<long>? progress, CancellationToken cancellationToken)
    {
        var content = new FileUploadContent(path, size, progress);
        content.Headers.ContentLength = size;
        await PutAsync(slot, content, contentType, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>PUTs a request body into a slot, with the slot's headers, within <see cref="HttpUploadOptions.PutTimeout"/>: for content that is not a file on disk, or that the caller reads its own way.</summary>
    /// <param name="slot">A slot from <see cref="RequestSlotAsync"/>.</param>
    /// <param name="content">The body, of the size the slot was requested for; disposed with the request.</param>
    /// <param name="contentType">The MIME type; <c>application/octet-stream</c> when it does not parse.</param>
    /// <param name="cancellationToken">Cancels the upload.</param>
    /// <exception cref="HttpUploadException">An HTTP error status, a network failure, the timeout, or a slot header that cannot be sent.</exception>
    public async Task PutAsync(HttpUploadSlot slot, HttpContent content, string contentType, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(slot);
        ArgumentNullException.ThrowIfNull(content);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.PutTimeout);
        using var request = new HttpRequestMessage(HttpMethod.Put, slot.PutUrl);
        request.Content = content;
        request.Content.Headers.ContentType = MediaTypeHeaderValue.TryParse(contentType, out var mediaType) ? mediaType : new MediaTypeHeaderValue("application/octet-stream");
        foreach (var (name, value) in slot.PutHeaders)
        {
            var added = name == "Expires" ? request.Content.Headers.TryAddWithoutValidation(name, value) : request.Headers.TryAddWithoutValidation(name, value);
            if (!added)
            {
                throw new HttpUploadException(HttpUploadError.InvalidSlot, $"The slot's {name} header cannot be sent.");
            }
        }

        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new HttpUploadException(HttpUploadError.Transport, $"The upload to {slot.PutUrl.Host} did not finish within {_options.PutTimeout.TotalSeconds:0.#} s.", ex);
        }
        catch (HttpRequestException ex)
        {
            throw new HttpUploadException(HttpUploadError.Transport, $"The upload to {slot.PutUrl.Host} failed: {ex.Message}", ex) { StatusCode = (int?)ex.StatusCode };
        }

        using (response)
        {
            if (!response.IsSuccessStatusCode)
            {
                var status = (int)response.StatusCode;
                LogPutFailed(_logger, slot.PutUrl.Host, status);
                throw new HttpUploadException(HttpUploadError.HttpError, $"The upload server {slot.PutUrl.Host} answered the PUT with {status} {response.ReasonPhrase}.") { StatusCode = status };
            }
        }
    }

    [LoggerMessage(7000, LogLevel.Debug, "HTTP upload service {Service}, max file size {MaxFileSize}")]
    private static partial void LogServiceFound(ILogger logger, string service, long? maxFileSize);

    [LoggerMessage(7001, LogLevel.Information, "No HTTP upload service on {Domain}")]
    private static partial void LogNoService(ILogger logger, string domain);

    [LoggerMessage(7002, LogLevel.Debug, "Disco query skipped while looking for the upload service: {Reason}")]
    private static partial void LogDiscoSkipped(ILogger logger, string reason);

    [LoggerMessage(7003, LogLevel.Information, "Uploaded {FileName} ({Size} bytes) to {GetUrl}")]
    private static partial void LogUploaded(ILogger logger, string fileName, long size, string getUrl);

    [LoggerMessage(7004, LogLevel.Warning, "HTTP upload to {Host} refused with status {Status}")]
    private static partial void LogPutFailed(ILogger logger, string host, int status);

    /// <summary>The request body: the file streamed from disk, exactly <c>size</c> bytes, with progress.</summary>
    private sealed class FileUploadContent(string path, long size, IProgress<long>? progress) : HttpContent
    {
        private const int BufferSize = 81_920;

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => SerializeToStreamAsync(stream, context, CancellationToken.None);

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
        {
            var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, BufferSize, FileOptions.Asynchronous | FileOptions.SequentialScan);
            await using (file.ConfigureAwait(false))
            {
                var buffer = new byte[BufferSize];
                long sent = 0;
                while (sent < size)
                {
                    var read = await file.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, size - sent)), cancellationToken).ConfigureAwait(false);
                    if (read == 0)
                    {
                        throw new IOException($"'{path}' became shorter than {size} bytes during the upload.");
                    }

                    await stream.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                    sent += read;
                    progress?.Report(sent);
                }
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = size;
            return true;
        }
    }
}
