using System.Buffers;
using System.Text;
using Parley.Xmpp.Core;
using Parley.Xmpp.Forms;
using Parley.Xmpp.Stanzas;
using Parley.Xmpp.Xml;

namespace Parley.Fuzz.Targets;

/// <summary>
/// Data forms (XEP-0004) read from what the stream parser makes of the input: the input is one top-level element of a
/// client stream (a form, or an iq/message carrying forms as commands and disco do). Every form found is read with
/// <see cref="DataForm.Parse"/>, written with <see cref="DataForm.ToElement"/>, and must read back as the same form.
/// </summary>
/// <remarks>Clear errors: <see cref="XmppProtocolException"/> from the parser, <see cref="FormatException"/> from the form.</remarks>
internal sealed class DataFormTarget : FuzzTarget
{
    private const string ClientHeader = "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>";

    public override string Name => "forms";

    public override string Description => "DataForm.Parse/FromParent on parsed XML, ToElement round trip";

    protected override void Feed(byte[] input)
    {
        var root = ParseElement([.. Encoding.UTF8.GetBytes(ClientHeader), .. input]);
        if (root is null)
        {
            return;
        }

        if (root.Name == "x" && root.Namespace == XmppNamespaces.DataForms)
        {
            CheckForm(DataForm.Parse(root));
            return;
        }

        // Where forms travel: a child of the stanza (message) or of its payload (command, disco query, registration).
        foreach (var parent in root.Children.Prepend(root))
        {
            if (DataForm.FromParent(parent) is { } form)
            {
                CheckForm(form);
            }
        }
    }

    protected override bool IsClearError(Exception exception) => exception is XmppProtocolException or FormatException;

    private static XmppElement? ParseElement(byte[] stream)
    {
        var parser = new XmlStreamParser(XmlLimits.Default, StanzaRootFactory.Instance);
        var buffer = new ReadOnlySequence<byte>(stream);
        if (!parser.TryRead(ref buffer, out _, out _) || !parser.TryRead(ref buffer, out var kind, out var element))
        {
            return null;
        }

        return kind == XmlStreamEventKind.Element ? element : null;
    }

    private static void CheckForm(DataForm form)
    {
        _ = form.FormType;
        _ = form.MissingRequiredFields;
        _ = form.ToString();
        var written = form.ToElement();
        var text = written.ToString();
        DataForm again;
        try
        {
            var reread = ParseElement(Encoding.UTF8.GetBytes(ClientHeader + text))
                ?? throw new FuzzFindingException($"A written data form is not read back as an element: {text}");
            again = DataForm.Parse(reread);
        }
        catch (Exception e) when (e is XmppProtocolException or FormatException)
        {
            throw new FuzzFindingException($"A written data form is refused when read back ({e.Message}): {text}");
        }

        var rewritten = again.ToElement().ToString();
        if (rewritten != text)
        {
            throw new FuzzFindingException($"A data form changed in a round trip: {text} became {rewritten}");
        }

        if (form.Type == DataFormType.Form)
        {
            _ = form.CreateSubmission().ToElement();
        }
    }
}
