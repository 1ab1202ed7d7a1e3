using Parley.Xmpp.Core;
using Parley.Xmpp.Forms;
using Parley.Xmpp.Xml;

namespace Parley.Xmpp.Accounts;

/// <summary>
/// What a server answered to <c>&lt;query xmlns='jabber:iq:register'/&gt;</c> (XEP-0077 §3.1): legacy fields, a data form,
/// instructions and an out-of-band URL; and how to turn the caller's data into the submission the server wants.
/// </summary>
internal sealed class RegistrationQuery
{
    /// <summary>The form type of registration forms, and of the form built from legacy fields.</summary>
    public const string FormType = "jabber:iq:register";

    private const string OutOfBandNamespace = "jabber:x:oob";

    /// <summary>The legacy field names (XEP-0077 §13.1); the namespace is closed, so nothing else is ever sent as a legacy field.</summary>
    private static readonly HashSet<string> LegacyFieldNames = new(StringComparer.Ordinal)
    {
        "username", "nick", "password", "name", "first", "last", "email", "address", "city",
        "state", "zip", "phone", "url", "date", "misc", "text", "key",
    };

    private RegistrationQuery(string? instructions, bool registered, IReadOnlyList<(string Name, string? Value)> legacyFields, DataForm? form, Uri? url)
    {
        Instructions = instructions;
        Registered = registered;
        LegacyFields = legacyFields;
        Form = form;
        Url = url;
    }

    public string? Instructions { get; }

    /// <summary>Whether the server says the requester already has an account.</summary>
    public bool Registered { get; }

    /// <summary>The legacy fields, in order, with the value the server filled in (the old <c>key</c>, a current username).</summary>
    public IReadOnlyList<(string Name, string? Value)> LegacyFields { get; }

    /// <summary>The data form, which takes precedence over the legacy fields (XEP-0077 §6).</summary>
    public DataForm? Form { get; }

    /// <summary>Where to register instead (XEP-0066), if the server gave a URL.</summary>
    public Uri? Url { get; }

    /// <summary>Whether the answer only redirects elsewhere: no form and no fields to fill in (XEP-0077 §5).</summary>
    public bool IsRedirectOnly => Form is null && LegacyFields.Count == 0;

    /// <exception cref="FormatException">The query or its data form is malformed.</exception>
    public static RegistrationQuery Parse(XmppElement query)
    {
        string? instructions = null;
        var registered = false;
        var legacy = new List<(string, string?)>();
        DataForm? form = null;
        Uri? url = null;
        foreach (var child in query.Children)
        {
            if (child.Namespace == XmppNamespaces.Register)
            {
                switch (child.Name)
                {
                    case "instructions":
                        instructions ??= child.Text?.Trim();
                        break;
                    case "registered":
                        registered = true;
                        break;
                    case var name when LegacyFieldNames.Contains(name) && !legacy.Exists(f => f.Item1 == name):
                        legacy.Add((name, string.IsNullOrEmpty(child.Text) ? null : child.Text));
                        break;
                }
            }
            else if (child.Namespace == XmppNamespaces.DataForms && child.Name == "x")
            {
                form ??= DataForm.Parse(child);
            }
            else if (child.Namespace == OutOfBandNamespace && child.Name == "x")
            {
                Uri.TryCreate(child.ElementText("url")?.Trim(), UriKind.Absolute, out url);
            }
        }

        return new RegistrationQuery(instructions, registered, legacy, form, url);
    }

    /// <summary>
    /// The form the caller fills in: the server's data form as a submission, or the legacy fields as one (every field
    /// required, as XEP-0077 §3.1 demands all of them), already filled with username, password and extra fields.
    /// </summary>
    public DataForm CreateSubmission(string username, string password, IEnumerable<KeyValuePair<string, string>> extraFields)
    {
        DataForm submission;
        if (Form is not null)
        {
            submission = Form.CreateSubmission();
        }
        else
        {
            submission = new DataForm(DataFormType.Submit, FormType);
            foreach (var (name, value) in LegacyFields)
            {
                var field = submission.GetOrAddField(name, name == "password" ? DataFormFieldType.TextPrivate : DataFormFieldType.TextSingle);
                field.Required = true;
                field.Value = value;
            }
        }

        foreach (var (name, value) in extraFields)
        {
            submission.SetValue(name, value);
        }

        submission.GetOrAddField("username").Value = username;
        submission.GetOrAddField("password", DataFormFieldType.TextPrivate).Value = password;
        return submission;
    }

    /// <summary>The <c>&lt;query/&gt;</c> to send: the data form if the server sent one, otherwise the legacy fields — never both (XEP-0077 §6).</summary>
    public XmppElement BuildSubmitQuery(DataForm submission)
    {
        var query = new XmppElement("query", XmppNamespaces.Register);
        if (Form is not null)
        {
            query.Add(submission.ToElement());
            return query;
        }

        foreach (var field in submission.Fields)
        {
            if (field.Var is { } name && LegacyFieldNames.Contains(name))
            {
                query.AddChild(name, text: field.Value ?? string.Empty);
            }
        }

        return query;
    }
}
