using Parley.Bots.Reports;

namespace Parley.Bots.Tests;

/// <summary>The report sources never leave their folder or their server, whatever the project "number" is.</summary>
public sealed class ReportSourceUnitTests : IDisposable
{
    private readonly string _base = Directory.CreateTempSubdirectory("parley-traversal-").FullName;
    private readonly string _root;

    public ReportSourceUnitTests()
    {
        _root = Directory.CreateDirectory(Path.Combine(_base, "reports")).FullName;
        File.WriteAllText(Path.Combine(_base, "secret"), "outside");
        File.WriteAllText(Path.Combine(_base, "secret.pdf"), "outside");
        File.WriteAllText(Path.Combine(_root, "1234.pdf"), "inside");
        Directory.CreateDirectory(Path.Combine(_root, "sub"));
        File.WriteAllText(Path.Combine(_root, "sub", "x.pdf"), "nested");
        File.CreateSymbolicLink(Path.Combine(_root, "link.pdf"), Path.Combine(_base, "secret.pdf"));
        File.CreateSymbolicLink(Path.Combine(_root, "inner.pdf"), Path.Combine(_root, "1234.pdf"));
    }

    public static TheoryData<string, string> Escapes => new()
    {
        { "../secret", "{project}" },
        { "../secret", "{project}.pdf" },
        { "..", "{project}" },
        { "../reports/../secret", "{project}" },
        { "..%2fsecret", "{project}" },
        { "..%2Fsecret", "{project}" },
        { "%2e%2e/secret", "{project}" },
        { "..\\secret", "{project}" },
        { "/etc/passwd", "{project}" },
        { "/etc/passwd\0", "{project}" },
        { "sub/x", "{project}.pdf" },
        { "link", "{project}.pdf" },
        { "", "{project}" },
        { "~/secret", "{project}" },
        { "secret", "../{project}" },
    };

    [Theory]
    [MemberData(nameof(Escapes))]
    public async Task Folder_source_never_returns_a_file_outside_the_folder(string project, string template)
    {
        var source = new FolderReportSource(_root, template);
        var report = await source.FetchAsync(project, CancellationToken.None);
        Assert.Null(report);
    }

    [Fact]
    public async Task Folder_source_finds_a_report_and_follows_a_link_that_stays_inside()
    {
        var source = new FolderReportSource(_root);
        var report = await source.FetchAsync("1234", CancellationToken.None);
        Assert.NotNull(report);
        Assert.Equal("1234.pdf", report.FileName);
        Assert.Equal("inside", await File.ReadAllTextAsync(report.Path));
        Assert.False(report.IsTemporary);
        Assert.Equal("application/pdf", report.ContentType);
        Assert.Null(report.Sha256); // nothing hashed it: the file transfer does

        var linked = await source.FetchAsync("inner", CancellationToken.None);
        Assert.NotNull(linked);
        Assert.Equal("inside", await File.ReadAllTextAsync(linked.Path));
    }

    [Fact]
    public async Task Folder_source_reached_through_a_linked_folder_still_works_and_still_confines()
    {
        var alias = Path.Combine(_base, "alias");
        Directory.CreateSymbolicLink(alias, _root);
        var source = new FolderReportSource(alias);
        Assert.NotNull(await source.FetchAsync("1234", CancellationToken.None));
        Assert.Null(await source.FetchAsync("link", CancellationToken.None));
    }

    [Theory]
    [InlineData("..")]
    [InlineData(".")]
    [InlineData("../../admin")]
    [InlineData("..%2f..%2fadmin")]
    [InlineData("@evil.example")]
    [InlineData("x?y=1#z")]
    public void Http_source_keeps_every_url_on_the_template_server_and_path(string project)
    {
        using var http = new HttpClient();
        var source = new HttpReportSource("http://intranet.example:8080/reports/{project}.pdf", http, TimeSpan.FromSeconds(1), 1000);
        var url = source.BuildUrl(project);
        if (url is not null)
        {
            Assert.Equal("intranet.example:8080", url.Authority);
            Assert.StartsWith("/reports/", url.AbsolutePath);
            Assert.DoesNotContain("/../", url.AbsolutePath);
            Assert.Equal(string.Empty, url.Query);
            Assert.Equal(string.Empty, url.Fragment);
        }

        var whole = new HttpReportSource("http://intranet.example/{project}", http, TimeSpan.FromSeconds(1), 1000);
        Assert.True(whole.BuildUrl(project) is null || whole.BuildUrl(project)!.Authority == "intranet.example");
    }

    public void Dispose() => Directory.Delete(_base, recursive: true);
}
