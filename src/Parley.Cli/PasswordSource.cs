using System.CommandLine;
using System.Text;

namespace Parley.Cli;

/// <summary>
/// Where the password comes from: <c>--password-file</c>, <c>--password-stdin</c>, <c>PARLEY_PASSWORD</c>, or
/// <c>--password</c>, which other users see in <c>ps</c>. At most one of the options; the variable is read only when
/// none is given.
/// </summary>
internal sealed class PasswordSource
{
    public const string Variable = "PARLEY_PASSWORD";

    /// <summary>The longest password read from a file or standard input, in characters.</summary>
    public const int MaxLength = 1024;

    /// <summary>A larger password file is refused unread: a wrong path (a log, a disk image) is not read whole.</summary>
    public const int MaxFileBytes = 8192;

    public const string Choices = $"--password-file <path>, --password-stdin or ${Variable}";

    public Option<string> Password { get; } = new("--password")
    {
        Description = $"The password. Other users of this machine can read it in `ps` and it stays in the shell's history: prefer --password-file, --password-stdin or ${Variable}.",
        HelpName = "secret",
        Recursive = true,
    };

    public Option<FileInfo> File { get; } = new("--password-file")
    {
        Description = $"Read the password from the first line of this file (at most {MaxLength} characters).",
        HelpName = "path",
        Recursive = true,
    };

    public Option<bool> Stdin { get; } = new("--password-stdin")
    {
        Description = "Read the password from the first line of standard input.",
        Recursive = true,
    };

    public void AddTo(Command root)
    {
        root.Add(Password);
        root.Add(File);
        root.Add(Stdin);
    }

    /// <summary>The password from the one source given, else from <c>PARLEY_PASSWORD</c>; null when there is none.</summary>
    /// <exception cref="UsageException">More than one source, or a file or input that holds no usable password.</exception>
    public async Task<string?> ReadAsync(ParseResult result, CliConsole console, CancellationToken cancellationToken)
    {
        var fromCommandLine = result.GetValue(Password);
        var file = result.GetValue(File);
        var stdin = result.GetValue(Stdin);
        if ((fromCommandLine is null ? 0 : 1) + (file is null ? 0 : 1) + (stdin ? 1 : 0) > 1)
        {
            throw new UsageException("give only one of --password, --password-file and --password-stdin.");
        }

        if (file is not null)
        {
            return await ReadFileAsync(file, cancellationToken).ConfigureAwait(false);
        }

        if (stdin)
        {
            return NonEmpty(await ReadLineAsync(console.Input, cancellationToken).ConfigureAwait(false), "standard input");
        }

        return fromCommandLine ?? console.Environment(Variable);
    }

    private static async Task<string> ReadFileAsync(FileInfo file, CancellationToken cancellationToken)
    {
        try
        {
            using var reader = new StreamReader(file.FullName, Encoding.UTF8, detectEncodingFromByteOrderMarks: true, new FileStreamOptions { Options = FileOptions.Asynchronous });
            if (reader.BaseStream.Length > MaxFileBytes)
            {
                throw new UsageException($"--password-file '{file}' is larger than a password file can be ({MaxFileBytes} bytes).");
            }

            return NonEmpty(await ReadLineAsync(reader, cancellationToken).ConfigureAwait(false), $"--password-file '{file}'");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"--password-file '{file}': {ex.Message}");
        }
    }

    /// <summary>The first line without its line ending; at most <see cref="MaxLength"/> characters are read.</summary>
    private static async Task<string> ReadLineAsync(TextReader reader, CancellationToken cancellationToken)
    {
        var line = new StringBuilder();
        var buffer = new char[1];
        while (await reader.ReadAsync(buffer, cancellationToken).ConfigureAwait(false) == 1 && buffer[0] != '\n')
        {
            if (line.Length == MaxLength)
            {
                throw new UsageException($"the password is longer than {MaxLength} characters.");
            }

            line.Append(buffer[0]);
        }

        if (line.Length > 0 && line[^1] == '\r')
        {
            line.Length--;
        }

        return line.ToString();
    }

    private static string NonEmpty(string password, string source) =>
        password.Length > 0 ? password : throw new UsageException($"{source} holds no password on its first line.");
}
