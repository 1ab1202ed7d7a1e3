using System.Globalization;
using Parley.Xmpp.Core;
using Parley.Xmpp.Stanzas;
using Parley.Xmpp.Xml;

namespace Parley.Xmpp.FileTransfer;

/// <summary>Jingle actions (XEP-0166 §7.2) this library sends or understands.</summary>
internal static class JingleActions
{
    public const string SessionInitiate = "session-initiate";
    public const string SessionAccept = "session-accept";
    public const string SessionTerminate = "session-terminate";
    public const string SessionInfo = "session-info";
    public const string TransportInfo = "transport-info";
    public const string TransportReplace = "transport-replace";
    public const string TransportAccept = "transport-accept";
    public const string TransportReject = "transport-reject";
}

/// <summary>A Jingle <c>&lt;reason/&gt;</c> (XEP-0166 §7.4): one condition element and an optional text.</summary>
/// <param name="Condition">The condition element's name.</param>
/// <param name="Text">The optional human-readable text.</param>
/// <param name="FileTooLarge">
/// XEP-0234's <c>&lt;file-too-large/&gt;</c> beside <c>media-error</c> (§9.2): the receiver has no room for the file, as
/// opposed to a file that arrived damaged.
/// </param>
internal readonly record struct JingleReason(string Condition, string? Text = null, bool FileTooLarge = false)
{
    public const int MaxTextLength = 1000;

    private const string FileTransferErrors = "urn:xmpp:jingle:apps:file-transfer:errors:0";

    private static readonly HashSet<string> Conditions = new(StringComparer.Ordinal)
    {
        "alternative-session", "busy", "cancel", "connectivity-error", "decline", "expired", "failed-application",
        "failed-transport", "general-error", "gone", "incompatible-parameters", "media-error", "security-error",
        "success", "timeout", "unsupported-applications", "unsupported-transports",
    };

    public bool IsSuccess => Condition == "success";

    public XmppElement ToElement()
    {
        var reason = new XmppElement("reason", FileTransferNamespaces.Jingle);
        reason.AddChild(Condition);
        if (Text is not null)
        {
            reason.AddChild("text", text: Text.Length > MaxTextLength ? Text[..MaxTextLength] : Text);
        }

        if (FileTooLarge)
        {
            reason.AddChild("file-too-large", FileTransferErrors);
        }

        return reason;
    }

    /// <summary>Reads a reason; an absent or unknown condition is <c>general-error</c> (a terminate always has a cause).</summary>
    public static JingleReason Parse(XmppElement? reason)
    {
        if (reason is null)
        {
            return new JingleReason("general-error");
        }

        var text = reason.ElementText("text");
        if (text is { Length: > MaxTextLength })
        {
            text = text[..MaxTextLength];
        }

        var condition = reason.Children.FirstOrDefault(c => c.Namespace == FileTransferNamespaces.Jingle && Conditions.Contains(c.Name))?.Name;
        return new JingleReason(condition ?? "general-error", text, reason.Element("file-too-large", FileTransferErrors) is not null);
    }

    public override string ToString() => Text is null ? Condition : $"{Condition} ({Text})";
}

/// <summary>The file of a XEP-0234 (file-transfer:5) offer: the <c>&lt;description/&gt;</c> of a content.</summary>
internal sealed record JingleFile(string Name, long Size, string? MediaType, DateTimeOffset? Date, string? Description, string? Sha256, bool HashUsed)
{
    public const int MaxNameLength = 1024;
    public const int MaxDescriptionLength = 2000;

    public XmppElement ToDescription()
    {
        var description = new XmppElement("description", FileTransferNamespaces.JingleFileTransfer);
        description.Add(ToFile());
        return description;
    }

    public XmppElement ToFile()
    {
        var file = new XmppElement("file", FileTransferNamespaces.JingleFileTransfer);
        if (Date is { } date)
        {
            file.AddChild("date", text: date.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture));
        }

        if (Description is not null)
        {
            file.AddChild("desc", text: Description);
        }

        file.AddChild("media-type", text: MediaType ?? "application/octet-stream");
        file.AddChild("name", text: Name);
        file.AddChild("size", text: Size.ToString(CultureInfo.InvariantCulture));
        if (Sha256 is not null)
        {
            file.Add(HashElement(Sha256));
        }
        else
        {
            // XEP-0234 §4: a <hash/> or <hash-used/> MUST be in an offer; the value follows in a <checksum/>.
            file.AddChild("hash-used", FileTransferNamespaces.Hashes).SetAttribute("algo", "sha-256");
        }

        return file;
    }

    public static XmppElement HashElement(string sha256Hex)
    {
        var hash = new XmppElement("hash", FileTransferNamespaces.Hashes) { Text = Convert.ToBase64String(Convert.FromHexString(sha256Hex)) };
        hash.SetAttribute("algo", "sha-256");
        return hash;
    }

    /// <summary>Reads the SHA-256 among the <c>&lt;hash/&gt;</c> children of <paramref name="parent"/>, lower-case hex, or null.</summary>
    /// <exception cref="XmppStanzaException">The sha-256 value is not 32 bytes of base64.</exception>
    public static string? ParseSha256(XmppElement parent)
    {
        foreach (var hash in parent.Elements("hash", FileTransferNamespaces.Hashes).Take(8))
        {
            if (hash.GetAttribute("algo") == "sha-256" && hash.Text is { Length: > 0 and <= 64 } text)
            {
                var bytes = new byte[48];
                if (!Convert.TryFromBase64String(text.Trim(), bytes, out var written) || written != 32)
                {
                    throw new XmppStanzaException(StanzaError.BadRequest("The sha-256 hash is not 32 bytes of base64."));
                }

                return Convert.ToHexStringLower(bytes.AsSpan(0, 32));
            }
        }

        return null;
    }

    /// <summary>Parses the description of an offer.</summary>
    /// <exception cref="XmppStanzaException">bad-request: no single file, no valid size (the receiver needs it to know where the file ends).</exception>
    public static JingleFile Parse(XmppElement description)
    {
        var files = description.Elements("file", FileTransferNamespaces.JingleFileTransfer).Take(2).ToList();
        if (files.Count != 1)
        {
            throw new XmppStanzaException(StanzaError.BadRequest("A file offer has exactly one <file/>."));
        }

        var file = files[0];
        if (!long.TryParse(file.ElementText("size"), NumberStyles.None, CultureInfo.InvariantCulture, out var size))
        {
            throw new XmppStanzaException(StanzaError.BadRequest("The file has no valid <size/>."));
        }

        var name = file.ElementText("name");
        if (string.IsNullOrEmpty(name))
        {
            name = "file";
        }
        else if (name.Length > MaxNameLength)
        {
            throw new XmppStanzaException(StanzaError.BadRequest("The file name is too long."));
        }

        var desc = file.ElementText("desc");
        if (desc is { Length: > MaxDescriptionLength })
        {
            desc = desc[..MaxDescriptionLength];
        }

        var mediaType = file.ElementText("media-type");
        DateTimeOffset? date = DateTimeOffset.TryParse(file.ElementText("date"), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed) ? parsed : null;
        var sha256 = ParseSha256(file);
        // XEP-0300 writes <hash-used algo='sha-256'/>; a <hash algo='sha-256'/> inside it is taken as the same announcement.
        var hashUsed = file.Elements("hash-used", FileTransferNamespaces.Hashes).Take(8)
            .Any(h => h.GetAttribute("algo") == "sha-256" || h.Elements("hash", FileTransferNamespaces.Hashes).Take(8).Any(inner => inner.GetAttribute("algo") == "sha-256"));
        return new JingleFile(name, size, mediaType is { Length: > 0 and <= 255 } ? mediaType : null, date, desc, sha256, hashUsed && sha256 is null);
    }
}

/// <summary>The candidate types of XEP-0260 §2.2, with their type preference.</summary>
internal enum S5bCandidateType
{
    Direct,
    Assisted,
    Tunnel,
    Proxy,
}

/// <summary>One XEP-0260 candidate: a SOCKS5 streamhost with an id and an ICE-style priority.</summary>
internal sealed record S5bCandidate(string Cid, string Host, int Port, Jid Jid, long Priority, S5bCandidateType Type)
{
    public const int MaxCidLength = 64;

    /// <summary>XEP-0260 §2.2: (2^16) * type preference + local preference.</summary>
    public static long PriorityOf(S5bCandidateType type, int localPreference)
        => ((long)TypePreference(type) << 16) + localPreference;

    public static int TypePreference(S5bCandidateType type) => type switch
    {
        S5bCandidateType.Direct => 126,
        S5bCandidateType.Assisted => 120,
        S5bCandidateType.Tunnel => 110,
        _ => 10,
    };

    public static string TypeName(S5bCandidateType type) => type switch
    {
        S5bCandidateType.Direct => "direct",
        S5bCandidateType.Assisted => "assisted",
        S5bCandidateType.Tunnel => "tunnel",
        _ => "proxy",
    };

    public XmppElement ToElement()
    {
        var candidate = new XmppElement("candidate", FileTransferNamespaces.JingleS5b);
        candidate.SetAttribute("cid", Cid);
        candidate.SetAttribute("host", Host);
        candidate.SetAttribute("jid", Jid.ToString());
        candidate.SetAttribute("port", Port.ToString(CultureInfo.InvariantCulture));
        candidate.SetAttribute("priority", Priority.ToString(CultureInfo.InvariantCulture));
        candidate.SetAttribute("type", TypeName(Type));
        return candidate;
    }

    /// <summary>Parses a candidate; <see langword="null"/> when it is unusable (it is then skipped, like an unreachable one).</summary>
    public static S5bCandidate? TryParse(XmppElement candidate)
    {
        var cid = candidate.GetAttribute("cid");
        var host = candidate.GetAttribute("host");
        var port = 1080;
        if (cid is not { Length: > 0 and <= MaxCidLength } || host is not { Length: > 0 and <= 255 } || !Jid.TryParse(candidate.GetAttribute("jid"), out var jid)
            || (candidate.GetAttribute("port") is { } portText && (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535))
            || !long.TryParse(candidate.GetAttribute("priority"), NumberStyles.None, CultureInfo.InvariantCulture, out var priority) || priority is < 1 or > uint.MaxValue)
        {
            return null;
        }

        S5bCandidateType? type = (candidate.GetAttribute("type") ?? "direct") switch
        {
            "direct" => S5bCandidateType.Direct,
            "assisted" => S5bCandidateType.Assisted,
            "tunnel" => S5bCandidateType.Tunnel,
            "proxy" => S5bCandidateType.Proxy,
            _ => null,
        };
        return type is null ? null : new S5bCandidate(cid, host, port, jid, priority, type.Value);
    }
}

/// <summary>A XEP-0260 <c>&lt;transport/&gt;</c> with candidates (in session-initiate, session-accept or transport-replace).</summary>
internal sealed record S5bTransport(string Sid, string? DstAddr, IReadOnlyList<S5bCandidate> Candidates)
{
    public const int MaxSidLength = 128;
    public const int MaxCandidates = 16;

    /// <param name="initiator">The 'mode' attribute is only for the initiator (XEP-0260 §2.3).</param>
    public XmppElement ToElement(bool initiator)
    {
        var transport = new XmppElement("transport", FileTransferNamespaces.JingleS5b);
        transport.SetAttribute("sid", Sid);
        if (DstAddr is not null)
        {
            transport.SetAttribute("dstaddr", DstAddr);
        }

        if (initiator)
        {
            transport.SetAttribute("mode", "tcp");
        }

        foreach (var candidate in Candidates)
        {
            transport.Add(candidate.ToElement());
        }

        return transport;
    }

    /// <exception cref="XmppStanzaException">No sid, a mode other than tcp, or an overlong dstaddr.</exception>
    public static S5bTransport Parse(XmppElement transport)
    {
        var sid = transport.GetAttribute("sid");
        if (sid is not { Length: > 0 and <= MaxSidLength })
        {
            throw new XmppStanzaException(StanzaError.BadRequest("The SOCKS5 transport has no valid sid."));
        }

        if (transport.GetAttribute("mode") is { } mode && mode != "tcp")
        {
            throw new XmppStanzaException(StanzaError.FeatureNotImplemented("Only TCP bytestreams."));
        }

        var dstaddr = transport.GetAttribute("dstaddr");
        if (dstaddr is { Length: > 255 })
        {
            throw new XmppStanzaException(StanzaError.BadRequest("The dstaddr is too long."));
        }

        var candidates = transport.Elements("candidate").Take(MaxCandidates).Select(S5bCandidate.TryParse).OfType<S5bCandidate>().ToList();
        return new S5bTransport(sid, dstaddr, candidates);
    }

    /// <summary>A transport-info payload: <c>&lt;transport sid&gt;&lt;{name} cid?/&gt;&lt;/transport&gt;</c> (candidate-used, candidate-error, activated, proxy-error).</summary>
    public static XmppElement Info(string sid, string name, string? cid = null)
    {
        var transport = new XmppElement("transport", FileTransferNamespaces.JingleS5b);
        transport.SetAttribute("sid", sid);
        var child = transport.AddChild(name);
        if (cid is not null)
        {
            child.SetAttribute("cid", cid);
        }

        return transport;
    }
}

/// <summary>A XEP-0261 <c>&lt;transport/&gt;</c>: the in-band stream's sid and block size.</summary>
internal sealed record IbbTransport(string Sid, int BlockSize)
{
    public XmppElement ToElement()
    {
        var transport = new XmppElement("transport", FileTransferNamespaces.JingleIbb);
        transport.SetAttribute("block-size", BlockSize.ToString(CultureInfo.InvariantCulture));
        transport.SetAttribute("sid", Sid);
        return transport;
    }

    /// <exception cref="XmppStanzaException">No valid sid or block-size, or message stanzas asked for.</exception>
    public static IbbTransport Parse(XmppElement transport)
    {
        var sid = transport.GetAttribute("sid");
        if (sid is not { Length: > 0 and <= S5bTransport.MaxSidLength }
            || !int.TryParse(transport.GetAttribute("block-size"), NumberStyles.None, CultureInfo.InvariantCulture, out var blockSize) || blockSize is < 1 or > FileTransferOptions.MaxBlockSizeLimit)
        {
            throw new XmppStanzaException(StanzaError.BadRequest("The in-band transport needs a sid and a block-size of 1..65535."));
        }

        if (transport.GetAttribute("stanza") is { } stanza && stanza != "iq")
        {
            throw new XmppStanzaException(StanzaError.FeatureNotImplemented("Only IQ-carried blocks."));
        }

        return new IbbTransport(sid, blockSize);
    }
}

/// <summary>Builds <c>&lt;jingle/&gt;</c> elements.</summary>
internal static class JingleElement
{
    public const string ContentName = "a-file-offer";

    public static XmppElement Create(string action, string sid, Jid? initiator = null, Jid? responder = null)
    {
        var jingle = new XmppElement("jingle", FileTransferNamespaces.Jingle);
        jingle.SetAttribute("action", action);
        if (initiator is not null)
        {
            jingle.SetAttribute("initiator", initiator.ToString());
        }

        if (responder is not null)
        {
            jingle.SetAttribute("responder", responder.ToString());
        }

        jingle.SetAttribute("sid", sid);
        return jingle;
    }

    public static XmppElement AddContent(XmppElement jingle, string name, string creator = "initiator", string? senders = "initiator")
    {
        var content = jingle.AddChild("content");
        content.SetAttribute("creator", creator);
        content.SetAttribute("name", name);
        if (senders is not null)
        {
            content.SetAttribute("senders", senders);
        }

        return content;
    }

    public static XmppElement Terminate(string sid, JingleReason reason)
    {
        var jingle = Create(JingleActions.SessionTerminate, sid);
        jingle.Add(reason.ToElement());
        return jingle;
    }

    /// <summary>XEP-0166 §8: an error for a session we do not know, with the Jingle-specific condition.</summary>
    public static XmppStanzaException UnknownSession()
        => new(new StanzaError("item-not-found", StanzaErrorType.Cancel, "No such Jingle session") { ApplicationCondition = new XmppElement("unknown-session", FileTransferNamespaces.JingleErrors) });

    public static XmppStanzaException OutOfOrder(string text)
        => new(new StanzaError("unexpected-request", StanzaErrorType.Wait, text) { ApplicationCondition = new XmppElement("out-of-order", FileTransferNamespaces.JingleErrors) });
}
