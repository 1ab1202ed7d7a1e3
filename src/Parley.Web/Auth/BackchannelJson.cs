using System.Net.Http.Headers;
using System.Text.Json;

namespace Parley.Web.Auth;

/// <summary>A provider refused or broke the flow: discovery, token exchange or user info failed, or what came back is unusable.</summary>
internal sealed class ExternalSignInException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>Reads a provider's JSON answers with a size and depth limit, whatever the provider claims in its headers.</summary>
internal static class BackchannelJson
{
    public const int MaxBytes = 64 * 1024;
    private static readonly JsonDocumentOptions Options = new() { MaxDepth = 16 };

    /// <summary>Sends <paramref name="request"/> and parses the answer's body as JSON (whatever the status, which is returned with it).</summary>
    /// <exception cref="ExternalSignInException">No answer, a body over <see cref="MaxBytes"/>, or not JSON.</exception>
    public static async Task<(JsonDocument Document, System.Net.HttpStatusCode Status)> SendAsync(HttpClient backchannel, HttpRequestMessage request, CancellationToken cancellationToken)
    {
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        HttpResponseMessage response;
        try
        {
            response = await backchannel.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        }
        catch (HttpRequestException e)
        {
            throw new ExternalSignInException($"{request.RequestUri?.GetLeftPart(UriPartial.Path)} did not answer: {e.Message}", e);
        }
        catch (TaskCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new ExternalSignInException($"{request.RequestUri?.GetLeftPart(UriPartial.Path)} did not answer in time.", e);
        }

        using (response)
        {
            if (response.Content.Headers.ContentLength > MaxBytes)
            {
                throw new ExternalSignInException($"{request.RequestUri?.GetLeftPart(UriPartial.Path)} sent more than {MaxBytes} bytes.");
            }

            await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
            var buffer = new byte[MaxBytes + 1];
            var length = 0;
            int read;
            while (length < buffer.Length && (read = await stream.ReadAsync(buffer.AsMemory(length), cancellationToken)) > 0)
            {
                length += read;
            }

            if (length > MaxBytes)
            {
                throw new ExternalSignInException($"{request.RequestUri?.GetLeftPart(UriPartial.Path)} sent more than {MaxBytes} bytes.");
            }

            try
            {
                return (JsonDocument.Parse(buffer.AsMemory(0, length), Options), response.StatusCode);
            }
            catch (JsonException e)
            {
                throw new ExternalSignInException($"{request.RequestUri?.GetLeftPart(UriPartial.Path)} answered {(int)response.StatusCode} without JSON.", e);
            }
        }
    }
}
