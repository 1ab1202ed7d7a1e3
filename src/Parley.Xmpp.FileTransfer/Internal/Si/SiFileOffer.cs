using System.Globalization;
using Parley.Xmpp.Forms;
using Parley.Xmpp.Stanzas;
using Parley.Xmpp.Xml;

namespace Parley.Xmpp.FileTransfer;

/// <summary>An SI file-transfer offer (XEP-0095 + XEP-0096) and its answer, to and from XML.</summary>
internal sealed record SiFileOffer(string Sid, string Name, long Size, string? Description, string? MimeType, string? Sha256, IReadOnlyList<FileTransferMethod> Methods)
{
    public const string StreamMethodField = "stream-method";
    public const int MaxSidLength = 128;
    public const int MaxNameLength = 1024;
    public const int MaxDescriptionLength = 2000;
    public const int MaxMethods = 32;

    public static string MethodNamespace(FileTransferMethod method) => method switch
    {
        FileTransferMethod.Socks5Bytestreams => FileTransferNamespaces.Bytestreams,
        FileTransferMethod.InBandBytestreams => FileTransferNamespaces.InBandBytestreams,
        _ => throw new ArgumentOutOfRangeException(nameof(method), method, "Not an SI stream method."),
    };

    public static FileTransferMethod? MethodFromNamespace(string? ns) => ns switch
    {
        FileTransferNamespaces.Bytestreams => FileTransferMethod.Socks5Bytestreams,
        FileTransferNamespaces.InBandBytestreams => FileTransferMethod.InBandBytestreams,
        _ => null,
    };

    public XmppElement ToElement()
    {
        var si = new XmppElement("si", FileTransferNamespaces.StreamInitiation);
        si.SetAttribute("id", Sid);
        si.SetAttribute("mime-type", MimeType ?? "application/octet-stream");
        si.SetAttribute("profile", FileTransferNamespaces.FileTransferProfile);
        var file = si.AddChild("file", FileTransferNamespaces.FileTransferProfile);
        file.SetAttribute("name", Name);
        file.SetAttribute("size", Size.ToString(CultureInfo.InvariantCulture));
        if (Description is not null)
        {
            file.AddChild("desc", text: Description);
        }

        if (Sha256 is not null)
        {
            var hash = file.AddChild("hash", FileTransferNamespaces.Hashes, Convert.ToBase64String(Convert.FromHexString(Sha256)));
            hash.SetAttribute("algo", "sha-256");
        }

        var form = new DataForm(DataFormType.Form);
        var field = form.GetOrAddField(StreamMethodField, DataFormFieldType.ListSingle);
        foreach (var method in Methods)
        {
            field.Options.Add(new DataFormOption(MethodNamespace(method)));
        }

        si.AddChild("feature", FileTransferNamespaces.FeatureNegotiation).Add(form.ToElement());
        return si;
    }

    /// <summary>Parses an offer; unknown stream methods are left out of <see cref="Methods"/>.</summary>
    /// <exception cref="XmppStanzaException">The offer is malformed (bad-request) or not a file transfer.</exception>
    public static SiFileOffer Parse(XmppElement si)
    {
        var sid = si.GetAttribute("id");
        if (string.IsNullOrEmpty(sid) || sid.Length > MaxSidLength)
        {
            throw BadRequest("The offer has no valid stream id.");
        }

        if (si.GetAttribute("profile") != FileTransferNamespaces.FileTransferProfile)
        {
            throw new XmppStanzaException(new StanzaError("bad-request", StanzaErrorType.Modify, "Unknown SI profile") { ApplicationCondition = new XmppElement("bad-profile", FileTransferNamespaces.StreamInitiation) });
        }

        var file = si.Element("file", FileTransferNamespaces.FileTransferProfile) ?? throw BadRequest("The offer has no <file/>.");
        var name = file.GetAttribute("name");
        if (string.IsNullOrEmpty(name) || name.Length > MaxNameLength)
        {
            throw BadRequest("The file has no valid name.");
        }

        if (!long.TryParse(file.GetAttribute("size"), NumberStyles.None, CultureInfo.InvariantCulture, out var size))
        {
            throw BadRequest("The file has no valid size.");
        }

        var description = file.ElementText("desc");
        if (description is { Length: > MaxDescriptionLength })
        {
            description = description[..MaxDescriptionLength];
        }

        string? sha256 = null;
        foreach (var hash in file.Elements("hash", FileTransferNamespaces.Hashes))
        {
            if (hash.GetAttribute("algo") == "sha-256" && hash.Text is { Length: <= 64 } text)
            {
                var bytes = new byte[48];
                if (!Convert.TryFromBase64String(text.Trim(), bytes, out var written) || written != 32)
                {
                    throw BadRequest("The sha-256 hash is not 32 bytes of base64.");
                }

                sha256 = Convert.ToHexStringLower(bytes.AsSpan(0, 32));
            }
        }

        var methods = new List<FileTransferMethod>();
        var feature = si.Element("feature", FileTransferNamespaces.FeatureNegotiation) ?? throw NoValidStreams();
        DataForm? form;
        try
        {
            form = DataForm.FromParent(feature);
        }
        catch (FormatException ex)
        {
            throw BadRequest("The feature form is malformed: " + ex.Message);
        }

        foreach (var option in form?[StreamMethodField]?.Options.Take(MaxMethods) ?? [])
        {
            if (MethodFromNamespace(option.Value) is { } method && !methods.Contains(method))
            {
                methods.Add(method);
            }
        }

        var mimeType = si.GetAttribute("mime-type");
        return new SiFileOffer(sid, name, size, description, mimeType is { Length: <= 255 } ? mimeType : null, sha256, methods);
    }

    /// <summary>The receiver's answer: the chosen stream method.</summary>
    public static XmppElement Answer(FileTransferMethod method)
    {
        var si = new XmppElement("si", FileTransferNamespaces.StreamInitiation);
        var form = new DataForm(DataFormType.Submit);
        form.SetValue(StreamMethodField, MethodNamespace(method));
        si.AddChild("feature", FileTransferNamespaces.FeatureNegotiation).Add(form.ToElement());
        return si;
    }

    /// <summary>Reads the chosen method from an answer; <see langword="null"/> when it is missing or unknown.</summary>
    public static FileTransferMethod? ParseAnswer(XmppElement? si)
    {
        if (si?.Element("feature", FileTransferNamespaces.FeatureNegotiation) is not { } feature)
        {
            return null;
        }

        try
        {
            return MethodFromNamespace(DataForm.FromParent(feature)?[StreamMethodField]?.Value);
        }
        catch (FormatException)
        {
            return null;
        }
    }

    public static XmppStanzaException NoValidStreams()
        => new(new StanzaError("bad-request", StanzaErrorType.Cancel, "No stream method in common") { ApplicationCondition = new XmppElement("no-valid-streams", FileTransferNamespaces.StreamInitiation) });

    private static XmppStanzaException BadRequest(string text) => new(StanzaError.BadRequest(text));
}
