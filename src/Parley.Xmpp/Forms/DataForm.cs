using Parley.Xmpp.Core;
using Parley.Xmpp.Xml;

namespace Parley.Xmpp.Forms;

/// <summary>What a data form is for (XEP-0004 §3.1).</summary>
public enum DataFormType
{
    /// <summary>A form to fill in.</summary>
    Form,
    /// <summary>A filled-in form sent back.</summary>
    Submit,
    /// <summary>The submitter gave up.</summary>
    Cancel,
    /// <summary>Data returned by the form processor (a result or a table of items).</summary>
    Result,
}

/// <summary>
/// A XEP-0004 data form, <c>&lt;x xmlns='jabber:x:data'/&gt;</c>: a title, instructions and fields, or in a result a
/// table (<see cref="Reported"/> columns and <see cref="Items"/> rows).
/// </summary>
/// <example>
/// <code>
/// var submission = form.CreateSubmission();
/// submission.SetValue("username", "juliet");
/// submission.SetValue("password", secret);
/// if (submission.MissingRequiredFields.Count &gt; 0) { /* ask the user */ }
/// query.Add(submission.ToElement());
/// </code>
/// </example>
public sealed class DataForm
{
    /// <summary>The most fields (in the form, in <see cref="Reported"/> or in one item) accepted from a peer.</summary>
    public const int MaxFields = 500;

    /// <summary>The most values or options in one field accepted from a peer.</summary>
    public const int MaxValuesPerField = 5_000;

    /// <summary>The most result items (table rows) accepted from a peer.</summary>
    public const int MaxItems = 10_000;

    /// <summary>The most instruction lines accepted from a peer.</summary>
    public const int MaxInstructions = 50;

    /// <summary>The name of the hidden field that tells which standard a form follows (XEP-0068).</summary>
    public const string FormTypeField = "FORM_TYPE";

    private readonly List<DataFormField> _fields = [];
    private readonly List<string> _instructions = [];
    private readonly List<DataFormField> _reported = [];
    private readonly List<IReadOnlyList<DataFormField>> _items = [];

    /// <summary>Creates an empty form.</summary>
    /// <param name="type">What the form is for.</param>
    /// <param name="formType">An optional FORM_TYPE, added as the first, hidden field.</param>
    public DataForm(DataFormType type, string? formType = null)
    {
        Type = type;
        if (formType is not null)
        {
            FormType = formType;
        }
    }

    /// <summary>What the form is for.</summary>
    public DataFormType Type { get; set; }

    /// <summary>The title, if any.</summary>
    public string? Title { get; set; }

    /// <summary>The instructions, one entry per <c>&lt;instructions/&gt;</c> element.</summary>
    public IList<string> Instructions => _instructions;

    /// <summary>The fields, in order.</summary>
    public IList<DataFormField> Fields => _fields;

    /// <summary>In a result table: the columns.</summary>
    public IList<DataFormField> Reported => _reported;

    /// <summary>In a result table: the rows, each a list of fields.</summary>
    public IList<IReadOnlyList<DataFormField>> Items => _items;

    /// <summary>
    /// The value of the hidden FORM_TYPE field (e.g. <c>jabber:iq:register</c>), or <see langword="null"/>. Setting it adds
    /// or replaces that field, keeping it first.
    /// </summary>
    public string? FormType
    {
        get => this[FormTypeField]?.Value;
        set
        {
            var existing = this[FormTypeField];
            if (value is null)
            {
                if (existing is not null)
                {
                    _fields.Remove(existing);
                }

                return;
            }

            if (existing is null)
            {
                existing = new DataFormField(FormTypeField, DataFormFieldType.Hidden);
                _fields.Insert(0, existing);
            }

            existing.Value = value;
        }
    }

    /// <summary>
    /// The fields marked required (other than fixed and hidden ones) that have no value. Check a submission with it
    /// before sending; the form processor would answer <c>not-acceptable</c>.
    /// </summary>
    public IReadOnlyList<DataFormField> MissingRequiredFields
        => _fields.Where(static f => f.Required && f.Type is not DataFormFieldType.Fixed and not DataFormFieldType.Hidden && !f.HasValue).ToList();

    /// <summary>The field named <paramref name="var"/>, or <see langword="null"/>.</summary>
    /// <param name="var">The field name.</param>
    public DataFormField? this[string var] => _fields.Find(f => string.Equals(f.Var, var, StringComparison.Ordinal));

    /// <summary>Returns the field named <paramref name="var"/>, adding a text-single field when the form has none.</summary>
    /// <param name="var">The field name.</param>
    /// <param name="type">The type of a field that has to be added.</param>
    public DataFormField GetOrAddField(string var, DataFormFieldType type = DataFormFieldType.TextSingle)
    {
        ArgumentException.ThrowIfNullOrEmpty(var);
        if (this[var] is { } field)
        {
            return field;
        }

        field = new DataFormField(var, type);
        _fields.Add(field);
        return field;
    }

    /// <summary>Sets the value of a field, adding the field if the form has none by that name (see <see cref="DataFormField.SetValue"/>).</summary>
    /// <param name="var">The field name.</param>
    /// <param name="value">The value; <see langword="null"/> clears it.</param>
    /// <returns>The field.</returns>
    /// <exception cref="ArgumentException">The field is a list whose options do not include the value.</exception>
    public DataFormField SetValue(string var, string? value) => GetOrAddField(var).SetValue(value);

    /// <summary>Sets the values of a field, adding the field if the form has none by that name.</summary>
    /// <param name="var">The field name.</param>
    /// <param name="values">The values.</param>
    /// <returns>The field.</returns>
    /// <exception cref="ArgumentException">The field is a list whose options do not include a value.</exception>
    public DataFormField SetValues(string var, IEnumerable<string> values) => GetOrAddField(var).SetValues(values);

    /// <summary>
    /// Creates the submission for this form: a <see cref="DataFormType.Submit"/> form with every field except the fixed
    /// ones, keeping their types, defaults, options and required flags (so <see cref="MissingRequiredFields"/> and option
    /// checks work) — hidden fields such as FORM_TYPE keep their values, as XEP-0004 asks.
    /// </summary>
    public DataForm CreateSubmission()
    {
        var submission = new DataForm(DataFormType.Submit);
        foreach (var field in _fields)
        {
            if (field.Type != DataFormFieldType.Fixed && field.Var is not null)
            {
                submission._fields.Add(field.Clone());
            }
        }

        return submission;
    }

    /// <summary>
    /// Builds the <c>&lt;x xmlns='jabber:x:data'/&gt;</c> element. A submission carries only names, types and values
    /// (labels, options and descriptions belong to the form); a cancel carries no fields.
    /// </summary>
    public XmppElement ToElement()
    {
        var x = new XmppElement("x", XmppNamespaces.DataForms);
        x.SetAttribute("type", Type switch
        {
            DataFormType.Form => "form",
            DataFormType.Submit => "submit",
            DataFormType.Cancel => "cancel",
            _ => "result",
        });
        if (Type == DataFormType.Cancel)
        {
            return x;
        }

        var valuesOnly = Type == DataFormType.Submit;
        if (Title is not null && !valuesOnly)
        {
            x.AddChild("title", text: Title);
        }

        if (!valuesOnly)
        {
            foreach (var line in _instructions)
            {
                x.AddChild("instructions", text: line);
            }
        }

        foreach (var field in _fields)
        {
            if (!valuesOnly || (field.Type != DataFormFieldType.Fixed && field.Var is not null))
            {
                x.Add(WriteField(field, valuesOnly));
            }
        }

        if (_reported.Count > 0)
        {
            var reported = x.AddChild("reported");
            foreach (var column in _reported)
            {
                reported.Add(WriteField(column, valuesOnly: false));
            }
        }

        foreach (var row in _items)
        {
            var item = x.AddChild("item");
            foreach (var cell in row)
            {
                item.Add(WriteField(cell, valuesOnly: true));
            }
        }

        return x;
    }

    /// <summary>Returns the first data form among the children of <paramref name="parent"/> (e.g. a command or a query), or <see langword="null"/>.</summary>
    /// <param name="parent">The element that may hold a form.</param>
    /// <exception cref="FormatException">The form is malformed or exceeds a limit.</exception>
    public static DataForm? FromParent(XmppElement parent)
    {
        ArgumentNullException.ThrowIfNull(parent);
        return parent.Element("x", XmppNamespaces.DataForms) is { } x ? Parse(x) : null;
    }

    /// <summary>
    /// Reads a <c>&lt;x xmlns='jabber:x:data'/&gt;</c>. Lenient where servers are known to be sloppy (a missing field type
    /// reads as text-single, unknown elements are skipped), strict where a peer could waste memory (see the Max* limits).
    /// </summary>
    /// <param name="x">The element.</param>
    /// <exception cref="FormatException">Not a data form, an unknown form type, or a limit exceeded.</exception>
    public static DataForm Parse(XmppElement x)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.Name != "x" || x.Namespace != XmppNamespaces.DataForms)
        {
            throw new FormatException($"<{x.Name} xmlns='{x.Namespace}'/> is not a data form.");
        }

        var type = x.GetAttribute("type") switch
        {
            "form" => DataFormType.Form,
            "submit" => DataFormType.Submit,
            "cancel" => DataFormType.Cancel,
            "result" => DataFormType.Result,
            var other => throw new FormatException($"The data form has an invalid type '{other}'."),
        };
        var form = new DataForm(type);
        foreach (var child in x.Children)
        {
            if (child.Namespace != XmppNamespaces.DataForms)
            {
                continue;
            }

            switch (child.Name)
            {
                case "title":
                    form.Title ??= child.Text;
                    break;
                case "instructions":
                    if (form._instructions.Count >= MaxInstructions)
                    {
                        throw new FormatException($"The data form has more than {MaxInstructions} instructions.");
                    }

                    form._instructions.Add(child.Text ?? string.Empty);
                    break;
                case "field":
                    AddParsed(form._fields, child);
                    break;
                case "reported":
                    form._reported.Clear();
                    foreach (var column in child.Elements("field"))
                    {
                        AddParsed(form._reported, column);
                    }

                    break;
                case "item":
                    if (form._items.Count >= MaxItems)
                    {
                        throw new FormatException($"The data form has more than {MaxItems} items.");
                    }

                    var row = new List<DataFormField>();
                    foreach (var cell in child.Elements("field"))
                    {
                        AddParsed(row, cell);
                    }

                    form._items.Add(row);
                    break;
            }
        }

        // A result table's cells usually carry no type; they take the column's.
        if (form._reported.Count > 0)
        {
            foreach (var row in form._items)
            {
                foreach (var cell in row)
                {
                    if (cell.Var is not null && form._reported.Find(c => c.Var == cell.Var) is { } column && cell.Type == DataFormFieldType.TextSingle)
                    {
                        cell.Type = column.Type;
                    }
                }
            }
        }

        return form;
    }

    /// <summary>The wire name of a field type, e.g. <c>text-private</c>.</summary>
    /// <param name="type">The type.</param>
    public static string TypeName(DataFormFieldType type) => type switch
    {
        DataFormFieldType.TextPrivate => "text-private",
        DataFormFieldType.TextMulti => "text-multi",
        DataFormFieldType.Boolean => "boolean",
        DataFormFieldType.Fixed => "fixed",
        DataFormFieldType.Hidden => "hidden",
        DataFormFieldType.JidSingle => "jid-single",
        DataFormFieldType.JidMulti => "jid-multi",
        DataFormFieldType.ListSingle => "list-single",
        DataFormFieldType.ListMulti => "list-multi",
        _ => "text-single",
    };

    /// <inheritdoc />
    public override string ToString() => $"data form ({Type.ToString().ToLowerInvariant()}{(FormType is { } ft ? $", {ft}" : string.Empty)}, {_fields.Count} fields)";

    private static DataFormFieldType ParseType(string? name) => name switch
    {
        "text-private" => DataFormFieldType.TextPrivate,
        "text-multi" => DataFormFieldType.TextMulti,
        "boolean" => DataFormFieldType.Boolean,
        "fixed" => DataFormFieldType.Fixed,
        "hidden" => DataFormFieldType.Hidden,
        "jid-single" => DataFormFieldType.JidSingle,
        "jid-multi" => DataFormFieldType.JidMulti,
        "list-single" => DataFormFieldType.ListSingle,
        "list-multi" => DataFormFieldType.ListMulti,
        _ => DataFormFieldType.TextSingle,
    };

    private static void AddParsed(List<DataFormField> fields, XmppElement element)
    {
        if (fields.Count >= MaxFields)
        {
            throw new FormatException($"The data form has more than {MaxFields} fields.");
        }

        var var = element.GetAttribute("var") is { Length: > 0 } name ? name : null;
        var type = ParseType(element.GetAttribute("type"));
        if (var is null)
        {
            // Only fixed fields may lack a name; a nameless field of another type cannot be answered, so it is shown as text.
            type = DataFormFieldType.Fixed;
        }

        var field = new DataFormField(var, type) { Label = element.GetAttribute("label") };
        var count = 0;
        foreach (var child in element.Children)
        {
            if (child.Namespace != XmppNamespaces.DataForms)
            {
                continue;
            }

            if (++count > MaxValuesPerField)
            {
                throw new FormatException($"Field '{var}' has more than {MaxValuesPerField} values or options.");
            }

            switch (child.Name)
            {
                case "value":
                    field.Values.Add(child.Text ?? string.Empty);
                    break;
                case "option":
                    if (child.ElementText("value") is { } optionValue)
                    {
                        field.Options.Add(new DataFormOption(optionValue, child.GetAttribute("label")));
                    }

                    break;
                case "required":
                    field.Required = true;
                    break;
                case "desc":
                    field.Description ??= child.Text;
                    break;
            }
        }

        fields.Add(field);
    }

    private static XmppElement WriteField(DataFormField field, bool valuesOnly)
    {
        var element = new XmppElement("field", XmppNamespaces.DataForms);
        element.SetAttribute("var", field.Var);
        element.SetAttribute("type", TypeName(field.Type));
        if (!valuesOnly)
        {
            element.SetAttribute("label", field.Label);
            if (field.Description is not null)
            {
                element.AddChild("desc", text: field.Description);
            }

            if (field.Required)
            {
                element.AddChild("required");
            }
        }

        foreach (var value in field.Values)
        {
            element.AddChild("value", text: value);
        }

        if (!valuesOnly)
        {
            foreach (var option in field.Options)
            {
                var optionElement = element.AddChild("option");
                optionElement.SetAttribute("label", option.Label);
                optionElement.AddChild("value", text: option.Value);
            }
        }

        return element;
    }
}
