using System.Text;
using Parley.Bots.Reports;

namespace Parley.Bots.Tests;

/// <summary>The HTTP report source against a local HTTP server started by the test (no XMPP server).</summary>
public sealed class HttpReportSourceUnitTests : IDisposable
{
    private readonly FakeIntranet _intranet = new();
    private readonly HttpClient _http = new() { Timeout = Timeout.InfiniteTimeSpan };
    private readonly string _temp = Directory.CreateTempSubdirectory("parley-http-source-").FullName;

    private HttpReportSource Source(long maxBytes = 10_000, double timeoutSeconds = 5, (HttpAuthenticationKind, string?, string?) auth = default) =>
        new(_intranet.Url("/r/{project}.pdf"), _http, TimeSpan.FromSeconds(timeoutSeconds), maxBytes, auth, temporaryFolder: _temp);

    [Fact]
    public async Task A_report_is_downloaded_to_a_temporary_file_that_Delete_removes()
    {
        var content = Encoding.ASCII.GetBytes("%PDF-1.4 tiny");
        _intranet.File("/r/12.pdf", content);
        var report = await Source().FetchAsync("12", CancellationToken.None);
        Assert.NotNull(report);
        Assert.True(report.IsTemporary);
        Assert.Equal("12.pdf", report.FileName);
        Assert.Equal("application/pdf", report.ContentType);
        Assert.Equal(content, await File.ReadAllBytesAsync(report.Path));
        HttpReportSource.Delete(report);
        Assert.False(File.Exists(report.Path));
        Assert.Empty(Directory.GetFileSystemEntries(_temp));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task The_report_carries_the_SHA256_of_the_bytes_served(bool chunked)
    {
        // Larger than the download buffer, so the hash spans several reads.
        var content = System.Security.Cryptography.RandomNumberGenerator.GetBytes(300_007);
        if (chunked)
        {
            _intranet.Chunked("/r/21.pdf", content);
        }
        else
        {
            _intranet.File("/r/21.pdf", content);
        }

        var report = await Source(maxBytes: 1_000_000).FetchAsync("21", CancellationToken.None);
        Assert.NotNull(report);
        Assert.Equal(content.Length, report.Length);
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(content)), report.Sha256);
        Assert.Equal(report.Sha256, Files.Sha256(await File.ReadAllBytesAsync(report.Path)));
        HttpReportSource.Delete(report);
    }

    [Fact]
    public async Task Basic_credentials_are_sent()
    {
        _intranet.File("/r/1.pdf", [1, 2, 3]);
        var report = await Source(auth: (HttpAuthenticationKind.Basic, "bot", "pa:ss")).FetchAsync("1", CancellationToken.None);
        Assert.NotNull(report);
        Assert.Contains(_intranet.Requests, r => r.Authorization == "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("bot:pa:ss")));
    }

    [Theory]
    [InlineData(404)]
    [InlineData(410)]
    public async Task Not_found_and_gone_mean_no_report(int status)
    {
        _intranet.Status("/r/3.pdf", status);
        Assert.Null(await Source().FetchAsync("3", CancellationToken.None));
    }

    [Theory]
    [InlineData(500)]
    [InlineData(401)]
    [InlineData(503)]
    public async Task Other_errors_mean_unavailable(int status)
    {
        _intranet.Status("/r/4.pdf", status);
        var error = await Assert.ThrowsAsync<ReportSourceException>(() => Source().FetchAsync("4", CancellationToken.None));
        Assert.Equal(ReportSourceError.Unavailable, error.Error);
        Assert.Contains(status.ToString(System.Globalization.CultureInfo.InvariantCulture), error.Message);
    }

    [Fact]
    public async Task A_source_that_hangs_is_unavailable_after_the_timeout()
    {
        _intranet.Hang("/r/5.pdf");
        var started = System.Diagnostics.Stopwatch.StartNew();
        var error = await Assert.ThrowsAsync<ReportSourceException>(() => Source(timeoutSeconds: 0.5).FetchAsync("5", CancellationToken.None));
        Assert.Equal(ReportSourceError.Unavailable, error.Error);
        Assert.Contains("did not answer", error.Message);
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task A_closed_port_is_unavailable()
    {
        var source = new HttpReportSource($"http://127.0.0.1:{Files.FreePort()}/{{project}}", _http, TimeSpan.FromSeconds(5), 100, temporaryFolder: _temp);
        var error = await Assert.ThrowsAsync<ReportSourceException>(() => source.FetchAsync("6", CancellationToken.None));
        Assert.Equal(ReportSourceError.Unavailable, error.Error);
    }

    [Fact]
    public async Task Too_large_is_refused_by_content_length_and_while_streaming_and_leaves_no_file()
    {
        _intranet.File("/r/7.pdf", new byte[5000]);
        _intranet.Chunked("/r/8.pdf", new byte[5000]);
        var declared = await Assert.ThrowsAsync<ReportSourceException>(() => Source(maxBytes: 4096).FetchAsync("7", CancellationToken.None));
        Assert.Equal(ReportSourceError.TooLarge, declared.Error);
        var streamed = await Assert.ThrowsAsync<ReportSourceException>(() => Source(maxBytes: 4096).FetchAsync("8", CancellationToken.None));
        Assert.Equal(ReportSourceError.TooLarge, streamed.Error);
        Assert.Empty(Directory.GetFileSystemEntries(_temp));
        Assert.NotNull(await Source(maxBytes: 5000).FetchAsync("8", CancellationToken.None));
    }

    [Fact]
    public async Task The_caller_cancelling_is_a_cancellation_not_unavailable()
    {
        _intranet.Hang("/r/9.pdf");
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Source(timeoutSeconds: 30).FetchAsync("9", cancel.Token));
    }

    public void Dispose()
    {
        _intranet.Dispose();
        _http.Dispose();
        Directory.Delete(_temp, recursive: true);
    }
}
