using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Parley.Xmpp.Core;
using Parley.Xmpp.Stanzas;
using Parley.Xmpp.Xml;

namespace Parley.Xmpp.Accounts;

/// <summary>
/// Creates accounts with in-band registration (XEP-0077) on a fresh, unauthenticated stream: connect, STARTTLS (required
/// by default, as for <see cref="XmppClient"/>), ask for the registration fields, submit them, close.
/// </summary>
/// <example>
/// <code>
/// var jid = await XmppAccountRegistration.RegisterAsync(new XmppRegistrationOptions
/// {
///     Domain = "example.org", Username = "juliet", Password = secret,
/// });
/// await using var client = new XmppClient(new XmppClientOptions { Jid = jid, Password = secret });
/// </code>
/// </example>
public static class XmppAccountRegistration
{
    /// <summary>Registers a new account and returns its bare JID. The password is never logged (the traffic log redacts it).</summary>
    /// <param name="options">Server, TLS settings and the account to create.</param>
    /// <param name="loggerFactory">Where to log; traffic goes to <c>Parley.Xmpp.Traffic</c> at Trace level, secrets redacted.</param>
    /// <param name="cancellationToken">Cancels the registration.</param>
    /// <returns>The new account's bare JID.</returns>
    /// <exception cref="ArgumentException">The options are invalid (e.g. the username is not a valid JID local part).</exception>
    /// <exception cref="XmppAccountException">
    /// The server refused: <see cref="AccountErrorReason.UsernameTaken"/> (<c>conflict</c>), <see cref="AccountErrorReason.InvalidFields"/>
    /// (a field missing or rejected — also raised before sending when a required field has no value),
    /// <see cref="AccountErrorReason.NotAllowed"/> (registration closed), <see cref="AccountErrorReason.NotSupported"/>,
    /// <see cref="AccountErrorReason.RateLimited"/>, or <see cref="AccountErrorReason.Redirected"/> (register on a web page instead).
    /// </exception>
    /// <exception cref="XmppTlsException">TLS failed, STARTTLS was required but not offered, or the stream is unencrypted and <see cref="XmppRegistrationOptions.AllowPasswordWithoutTls"/> is off.</exception>
    /// <exception cref="XmppTransportException">The server could not be reached, the connection dropped, or a step timed out.</exception>
    /// <exception cref="XmppStreamErrorException">The server closed the stream with an error.</exception>
    /// <exception cref="XmppProtocolException">The server sent something invalid.</exception>
    public static async Task<Jid> RegisterAsync(XmppRegistrationOptions options, ILoggerFactory? loggerFactory = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var factory = loggerFactory ?? NullLoggerFactory.Instance;
        var logger = factory.CreateLogger(typeof(XmppAccountRegistration).FullName!);
        var traffic = factory.CreateLogger("Parley.Xmpp.Traffic");
        var domain = options.Domain;

        XmppStream stream;
        using (var connectTimeout = Deadline(cancellationToken, options.NegotiationTimeout))
        {
            try
            {
                (stream, _) = await ClientStreamSetup.ConnectAndSecureAsync(domain, fromWhenEncrypted: null, options, logger, traffic, connectTimeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
            {
                throw new XmppTransportException($"Connecting to {domain} and securing the stream took longer than {options.NegotiationTimeout.TotalSeconds:0.#} s.", isTransient: true, ex);
            }
        }

        await using (stream.ConfigureAwait(false))
        {
            if (!stream.Transport.IsEncrypted && !options.AllowPasswordWithoutTls)
            {
                throw new XmppTlsException($"The stream to {stream.Transport.Remote} is not encrypted; refusing to send a password (set AllowPasswordWithoutTls only for loopback tests).");
            }

            // XEP-0077 §3.1: ask for the fields first, never guess them.
            var fieldsAnswer = await RoundTripAsync(stream, new Iq(IqType.Get, null, new XmppElement("query", XmppNamespaces.Register)), options, domain, cancellationToken).ConfigureAwait(false);
            RegistrationQuery query;
            try
            {
                query = RegistrationQuery.Parse(fieldsAnswer.Element("query", XmppNamespaces.Register)
                    ?? throw new FormatException("The answer has no <query xmlns='jabber:iq:register'/>."));
            }
            catch (FormatException ex)
            {
                throw new XmppProtocolException($"{domain} sent invalid registration fields: {ex.Message}", "undefined-condition", ex);
            }

            if (query.IsRedirectOnly)
            {
                throw new XmppAccountException(
                    AccountErrorReason.Redirected,
                    $"{domain} does not register accounts in-band{(query.Instructions is { } text ? $": {text}" : ".")}{(query.Url is { } u ? $" ({u})" : string.Empty)}")
                { RedirectUrl = query.Url };
            }

            var submission = query.CreateSubmission(options.Username, options.Password, options.Fields);
            if (options.FillForm is { } fill)
            {
                await fill(submission, cancellationToken).ConfigureAwait(false);
            }

            if (submission.MissingRequiredFields is { Count: > 0 } missing)
            {
                var names = string.Join(", ", missing.Select(f => f.Label is { Length: > 0 } label ? $"'{f.Var}' ({label})" : $"'{f.Var}'"));
                throw new XmppAccountException(
                    AccountErrorReason.InvalidFields,
                    $"{domain} requires fields that were not provided: {names}. Set them in XmppRegistrationOptions.Fields or FillForm.{(query.Instructions is { } hint ? $" The server says: {hint}" : string.Empty)}");
            }

            var username = submission["username"]?.Value ?? options.Username;
            try
            {
                await RoundTripAsync(stream, new Iq(IqType.Set, null, query.BuildSubmitQuery(submission)), options, domain, cancellationToken).ConfigureAwait(false);
            }
            catch (XmppStanzaException ex)
            {
                throw AccountErrors.Registration(ex, username, domain);
            }

            AccountLog.Registered(logger, username, domain);
            await stream.CloseAsync(TimeSpan.FromSeconds(2), cancellationToken).ConfigureAwait(false);
            return ToJid(username, options);
        }
    }

    private static async Task<Iq> RoundTripAsync(XmppStream stream, Iq request, XmppRegistrationOptions options, string domain, CancellationToken cancellationToken)
    {
        using var timeout = Deadline(cancellationToken, options.DefaultIqTimeout);
        try
        {
            return await ClientStreamSetup.RoundTripAsync(stream, request, timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new XmppTransportException($"{domain} did not answer the registration request within {options.DefaultIqTimeout.TotalSeconds:0.#} s.", isTransient: true, ex);
        }
        catch (XmppStanzaException ex) when (request.Type == IqType.Get)
        {
            throw AccountErrors.Registration(ex, options.Username, domain);
        }
    }

    private static Jid ToJid(string username, XmppRegistrationOptions options)
    {
        try
        {
            return Jid.Create(username, options.Domain);
        }
        catch (FormatException)
        {
            // A FillForm callback chose a username our JID rules reject yet the server took; report what was asked for.
            return Jid.Create(options.Username, options.Domain);
        }
    }

    private static CancellationTokenSource Deadline(CancellationToken cancellationToken, TimeSpan after)
    {
        var source = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        source.CancelAfter(after);
        return source;
    }
}
