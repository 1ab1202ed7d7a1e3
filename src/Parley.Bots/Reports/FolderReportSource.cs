using Parley.Xmpp.Upload;

namespace Parley.Bots.Reports;

/// <summary>
/// Reports from a local folder: <c>{folder}/{file name template}</c>. Never reads outside the folder: the file name
/// must be one plain name (no separators, no <c>..</c>, nothing rooted), the full path must lie in the folder,
/// and a symbolic link is followed only when its final target is inside the folder too.
/// </summary>
public sealed class FolderReportSource : IReportSource
{
    private readonly string _root;
    private readonly string _fileNameTemplate;

    /// <summary>Creates the source.</summary>
    /// <param name="folder">The folder with the reports.</param>
    /// <param name="fileNameTemplate">The file name, with <c>{project}</c> for the number. Default <c>{project}.pdf</c>.</param>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    public FolderReportSource(string folder, string fileNameTemplate = "{project}.pdf")
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        ArgumentException.ThrowIfNullOrEmpty(fileNameTemplate);
        var full = Path.GetFullPath(folder);
        if (!Directory.Exists(full))
        {
            throw new DirectoryNotFoundException($"The report folder '{full}' does not exist.");
        }

        // Compare against the real location when the folder itself is reached through a link.
        var resolved = Directory.ResolveLinkTarget(full, returnFinalTarget: true)?.FullName ?? full;
        _root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(resolved)) + Path.DirectorySeparatorChar;
        _fileNameTemplate = fileNameTemplate;
    }

    /// <inheritdoc />
    public Task<ReportFile?> FetchAsync(string project, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(project);
        cancellationToken.ThrowIfCancellationRequested();
        return Task.FromResult(Find(project));
    }

    private ReportFile? Find(string project)
    {
        if (ReportFileNames.Build(_fileNameTemplate, project) is not { } name)
        {
            return null;
        }

        var path = Path.GetFullPath(Path.Combine(_root, name));
        if (!IsInside(path))
        {
            return null;
        }

        var file = new FileInfo(path);
        if (!file.Exists)
        {
            return null;
        }

        if (file.LinkTarget is not null)
        {
            var target = file.ResolveLinkTarget(returnFinalTarget: true);
            if (target is not FileInfo { Exists: true } real || !IsInside(Path.GetFullPath(real.FullName)))
            {
                return null;
            }

            file = real;
        }

        return new ReportFile(file.FullName, name, file.Length, HttpUpload.GuessContentType(name), IsTemporary: false);
    }

    private bool IsInside(string fullPath) => fullPath.StartsWith(_root, StringComparison.Ordinal) && fullPath.Length > _root.Length
        && fullPath.AsSpan(_root.Length).IndexOf(Path.DirectorySeparatorChar) < 0;
}
