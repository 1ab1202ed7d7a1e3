using System.Globalization;
using Parley.Xmpp.Core;

namespace Parley.Xmpp.Forms;

/// <summary>The type of a data form field (XEP-0004 §3.3). Unknown types read as <see cref="TextSingle"/>, as the XEP requires.</summary>
public enum DataFormFieldType
{
    /// <summary>A single line of text; the default.</summary>
    TextSingle,
    /// <summary>A single line of text to be obscured (a password).</summary>
    TextPrivate,
    /// <summary>Several lines of text, one <c>&lt;value/&gt;</c> per line.</summary>
    TextMulti,
    /// <summary>Yes or no.</summary>
    Boolean,
    /// <summary>Descriptive text, not a value to fill in.</summary>
    Fixed,
    /// <summary>A value the submitter returns unchanged (e.g. FORM_TYPE).</summary>
    Hidden,
    /// <summary>One JID.</summary>
    JidSingle,
    /// <summary>Several JIDs.</summary>
    JidMulti,
    /// <summary>One choice among the options.</summary>
    ListSingle,
    /// <summary>Any number of choices among the options.</summary>
    ListMulti,
}

/// <summary>A choice in a list field.</summary>
/// <param name="Value">The value submitted when it is chosen.</param>
/// <param name="Label">A human-readable label, if any.</param>
public sealed record DataFormOption(string Value, string? Label = null);

/// <summary>A field of a <see cref="DataForm"/> (XEP-0004 §3.2).</summary>
public sealed class DataFormField
{
    private readonly List<string> _values = [];
    private readonly List<DataFormOption> _options = [];

    /// <summary>Creates a field.</summary>
    /// <param name="var">The field name; <see langword="null"/> only for <see cref="DataFormFieldType.Fixed"/> fields.</param>
    /// <param name="type">The field type.</param>
    /// <exception cref="ArgumentException"><paramref name="var"/> is empty, or missing on a field that is not fixed.</exception>
    public DataFormField(string? var, DataFormFieldType type = DataFormFieldType.TextSingle)
    {
        if (var is { Length: 0 } || (var is null && type != DataFormFieldType.Fixed))
        {
            throw new ArgumentException("Every field except a fixed one needs a non-empty 'var'.", nameof(var));
        }

        Var = var;
        Type = type;
    }

    /// <summary>The field name (the <c>var</c> attribute); <see langword="null"/> for a fixed field without one.</summary>
    public string? Var { get; }

    /// <summary>The field type.</summary>
    public DataFormFieldType Type { get; set; }

    /// <summary>A human-readable label.</summary>
    public string? Label { get; set; }

    /// <summary>A longer description (the <c>&lt;desc/&gt;</c> child).</summary>
    public string? Description { get; set; }

    /// <summary>Whether the form is valid only when this field has a value.</summary>
    public bool Required { get; set; }

    /// <summary>The values, in order: the default in a form, the data in a submission or result.</summary>
    public IList<string> Values => _values;

    /// <summary>The choices of a list field.</summary>
    public IList<DataFormOption> Options => _options;

    /// <summary>The first value, or <see langword="null"/>. Setting replaces all values (a <see langword="null"/> clears them).</summary>
    public string? Value
    {
        get => _values.Count > 0 ? _values[0] : null;
        set
        {
            _values.Clear();
            if (value is not null)
            {
                _values.Add(value);
            }
        }
    }

    /// <summary>Whether the field has a non-empty value.</summary>
    public bool HasValue => _values.Exists(static v => v.Length > 0);

    /// <summary>The value read as a boolean (<c>1</c>/<c>true</c>, <c>0</c>/<c>false</c>); <see langword="null"/> when absent or not a boolean.</summary>
    public bool? GetBoolean() => Value?.Trim() switch
    {
        "1" or "true" => true,
        "0" or "false" => false,
        _ => null,
    };

    /// <summary>The values read as JIDs; values that are not valid JIDs are skipped.</summary>
    public IReadOnlyList<Jid> GetJids()
    {
        var jids = new List<Jid>(_values.Count);
        foreach (var value in _values)
        {
            if (Jid.TryParse(value.Trim(), out var jid) && !jids.Contains(jid))
            {
                jids.Add(jid);
            }
        }

        return jids;
    }

    /// <summary>The values of a text-multi field joined into one text, one line per value.</summary>
    public string GetText() => string.Join('\n', _values);

    /// <summary>Sets one text value. On a text-multi field the text is split into one value per line (XEP-0004 §3.3).</summary>
    /// <param name="value">The value; <see langword="null"/> clears the field.</param>
    /// <returns>This field.</returns>
    /// <exception cref="ArgumentException">The field is a list whose options do not include the value.</exception>
    public DataFormField SetValue(string? value)
    {
        if (value is null)
        {
            _values.Clear();
            return this;
        }

        if (Type == DataFormFieldType.TextMulti)
        {
            return SetValues(value.ReplaceLineEndings("\n").Split('\n'));
        }

        CheckOption(value);
        Value = value;
        return this;
    }

    /// <summary>Sets several values (text-multi, list-multi, jid-multi or hidden fields).</summary>
    /// <param name="values">The values, in order.</param>
    /// <returns>This field.</returns>
    /// <exception cref="ArgumentException">The field is a list whose options do not include a value.</exception>
    public DataFormField SetValues(IEnumerable<string> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        var list = values.ToList();
        foreach (var value in list)
        {
            ArgumentNullException.ThrowIfNull(value, nameof(values));
            CheckOption(value);
        }

        _values.Clear();
        _values.AddRange(list);
        return this;
    }

    /// <summary>Sets a boolean value (written as <c>true</c>/<c>false</c>).</summary>
    /// <param name="value">The value.</param>
    /// <returns>This field.</returns>
    public DataFormField SetBoolean(bool value)
    {
        Value = value ? "true" : "false";
        return this;
    }

    /// <summary>Sets JID values (jid-single or jid-multi), without duplicates.</summary>
    /// <param name="jids">The JIDs.</param>
    /// <returns>This field.</returns>
    public DataFormField SetJids(params IEnumerable<Jid> jids)
    {
        ArgumentNullException.ThrowIfNull(jids);
        return SetValues(jids.Select(static j => j.ToString()).Distinct(StringComparer.Ordinal));
    }

    /// <summary>Sets an integer value (invariant culture).</summary>
    /// <param name="value">The value.</param>
    /// <returns>This field.</returns>
    public DataFormField SetInteger(long value) => SetValue(value.ToString(CultureInfo.InvariantCulture));

    /// <summary>Copies the field: name, type, label, description, required flag, values and options.</summary>
    public DataFormField Clone()
    {
        var copy = new DataFormField(Var, Type) { Label = Label, Description = Description, Required = Required };
        copy._values.AddRange(_values);
        copy._options.AddRange(_options);
        return copy;
    }

    /// <inheritdoc />
    public override string ToString() => $"{Var ?? "(fixed)"} [{DataForm.TypeName(Type)}] = {(Type == DataFormFieldType.TextPrivate ? "***" : string.Join(", ", _values))}";

    private void CheckOption(string value)
    {
        // XEP-0004 §3.3: the submitter chooses among the options and MUST NOT insert new ones.
        if (Type is DataFormFieldType.ListSingle or DataFormFieldType.ListMulti && _options.Count > 0 && !_options.Exists(o => o.Value == value))
        {
            throw new ArgumentException($"'{value}' is not one of the options of field '{Var}' ({string.Join(", ", _options.Select(o => o.Value))}).", nameof(value));
        }
    }
}
