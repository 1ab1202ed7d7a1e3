namespace Parley.Bots.Reports;

/// <summary>A report ready to be delivered: a file on disk.</summary>
/// <param name="Path">Where the file is.</param>
/// <param name="FileName">The name to show the user.</param>
/// <param name="Length">Its size in bytes.</param>
/// <param name="ContentType">Its MIME type.</param>
/// <param name="IsTemporary">Whether the bot deletes it after delivery (a downloaded copy).</param>
public sealed record ReportFile(string Path, string FileName, long Length, string ContentType, bool IsTemporary)
{
    /// <summary>
    /// The file's SHA-256 (lower-case hex) when the source computed it while fetching (the HTTP source hashes the download as
    /// it writes it), else <see langword="null"/>. Deliveries pass it on so the sender need not hash the file again.
    /// </summary>
    public string? Sha256 { get; init; }
}

/// <summary>Where reports come from.</summary>
public interface IReportSource
{
    /// <summary>Fetches the report of a project whose number already matched the configured pattern.</summary>
    /// <param name="project">The project number.</param>
    /// <param name="cancellationToken">Cancels the fetch.</param>
    /// <returns>The report, or <see langword="null"/> when the source has none for that project.</returns>
    /// <exception cref="ReportSourceException">The source did not answer, failed, or the report is too large.</exception>
    Task<ReportFile?> FetchAsync(string project, CancellationToken cancellationToken);
}

/// <summary>Why a report could not be fetched.</summary>
public enum ReportSourceError
{
    /// <summary>The source did not answer in time or failed (network, server error); trying later may work.</summary>
    Unavailable,
    /// <summary>The report is larger than the configured maximum.</summary>
    TooLarge,
}

/// <summary>The report source failed.</summary>
/// <param name="error">Why.</param>
/// <param name="message">What happened, for the log.</param>
/// <param name="innerException">The cause, if any.</param>
public sealed class ReportSourceException(ReportSourceError error, string message, Exception? innerException = null) : Exception(message, innerException)
{
    /// <summary>Why the fetch failed.</summary>
    public ReportSourceError Error { get; } = error;
}

/// <summary>Turns a project number into a plain file name, or refuses.</summary>
internal static class ReportFileNames
{
    /// <summary>
    /// <paramref name="template"/> with <c>{project}</c> replaced; <see langword="null"/> when the result is not a
    /// single plain file name (a folder separator, <c>.</c>/<c>..</c>, control characters, or too long).
    /// </summary>
    public static string? Build(string template, string project)
    {
        var name = template.Replace("{project}", project, StringComparison.Ordinal);
        if (name.Length is 0 or > 255 || name is "." or ".." || name.Trim().Length == 0
            || name.AsSpan().IndexOfAny('/', '\\') >= 0 || name.Any(char.IsControl) || System.IO.Path.IsPathRooted(name)
            || name.IndexOfAny(System.IO.Path.GetInvalidFileNameChars()) >= 0)
        {
            return null;
        }

        return name;
    }
}
