using System.Text;

namespace Parley.Xmpp.Core;

/// <summary>
/// JID escaping (XEP-0106): writes the characters a localpart may not hold (space <c>" &amp; ' / : &lt; &gt; @</c>)
/// as <c>\20</c>, <c>\22</c>, <c>\26</c>, <c>\27</c>, <c>\2f</c>, <c>\3a</c>, <c>\3c</c>, <c>\3e</c>, <c>\40</c>, so that
/// e.g. <c>d'artagnan</c> can be addressed as <c>d\27artagnan@musketeers.lit</c>. Applies to localparts only.
/// </summary>
public static class JidEscaping
{
    /// <summary>
    /// Escapes a localpart given by a user or a foreign system. A backslash is written as <c>\5c</c> only
    /// where it starts one of the escape sequences (so <c>c:\5commas</c> becomes <c>c\3a\5c5commas</c>, while
    /// <c>foo\bar</c> stays as it is).
    /// </summary>
    /// <param name="localpart">The unescaped localpart, e.g. <c>d'artagnan</c>.</param>
    /// <returns>The escaped localpart; the same instance when nothing needed escaping.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="localpart"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="localpart"/> starts or ends with a space (XEP-0106 forbids
    /// <c>\20</c> at either end of a localpart).</exception>
    /// <remarks>
    /// Escape sequences are recognised without regard to case when deciding whether a backslash must be escaped:
    /// the localpart is lower-cased by the PRECIS profile later, which would turn <c>\2F</c> into the escape <c>\2f</c>.
    /// The result is not otherwise validated; <see cref="Jid.Create"/> does that.
    /// </remarks>
    public static string Escape(string localpart)
    {
        ArgumentNullException.ThrowIfNull(localpart);
        if (localpart.Length > 0 && (localpart[0] == ' ' || localpart[^1] == ' '))
        {
            throw new ArgumentException("A localpart cannot start or end with a space.", nameof(localpart));
        }

        var index = IndexOfEscapeNeeded(localpart, 0);
        if (index < 0)
        {
            return localpart;
        }

        var builder = new StringBuilder(localpart.Length + 8);
        var start = 0;
        while (index >= 0)
        {
            builder.Append(localpart, start, index - start);
            var c = localpart[index];
            builder.Append('\\').Append(c == '\\' ? "5c" : Code(c));
            start = index + 1;
            index = IndexOfEscapeNeeded(localpart, start);
        }

        builder.Append(localpart, start, localpart.Length - start);
        return builder.ToString();
    }

    /// <summary>
    /// Unescapes a localpart for display or for a foreign system. Only the ten sequences of XEP-0106, in lower case,
    /// are replaced; anything else (<c>\41</c>, <c>\2plus</c>, a lone backslash) is left as it is.
    /// </summary>
    /// <param name="localpart">The escaped localpart, e.g. <c>d\27artagnan</c>.</param>
    /// <returns>The unescaped text; the same instance when there was nothing to unescape.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="localpart"/> is <see langword="null"/>.</exception>
    public static string Unescape(string localpart)
    {
        ArgumentNullException.ThrowIfNull(localpart);
        var index = localpart.IndexOf('\\', StringComparison.Ordinal);
        if (index < 0)
        {
            return localpart;
        }

        var builder = new StringBuilder(localpart.Length);
        var start = 0;
        while (index >= 0)
        {
            var decoded = Decode(localpart, index, ignoreCase: false);
            if (decoded != '\0')
            {
                builder.Append(localpart, start, index - start).Append(decoded);
                start = index + 3;
                index = localpart.IndexOf('\\', start);
            }
            else
            {
                index = localpart.IndexOf('\\', index + 1);
            }
        }

        if (start == 0)
        {
            return localpart;
        }

        builder.Append(localpart, start, localpart.Length - start);
        return builder.ToString();
    }

    private static int IndexOfEscapeNeeded(string value, int start)
    {
        for (var i = start; i < value.Length; i++)
        {
            var c = value[i];
            if (c is ' ' or '"' or '&' or '\'' or '/' or ':' or '<' or '>' or '@'
                || (c == '\\' && Decode(value, i, ignoreCase: true) != '\0'))
            {
                return i;
            }
        }

        return -1;
    }

    private static string Code(char c) => c switch
    {
        ' ' => "20",
        '"' => "22",
        '&' => "26",
        '\'' => "27",
        '/' => "2f",
        ':' => "3a",
        '<' => "3c",
        '>' => "3e",
        _ => "40",
    };

    // The character a backslash at 'index' stands for, or '\0' when no escape sequence starts there.
    private static char Decode(string value, int index, bool ignoreCase)
    {
        if (index + 2 >= value.Length)
        {
            return '\0';
        }

        var high = value[index + 1];
        var low = value[index + 2];
        if (ignoreCase)
        {
            low = char.ToLowerInvariant(low);
        }

        return (high, low) switch
        {
            ('2', '0') => ' ',
            ('2', '2') => '"',
            ('2', '6') => '&',
            ('2', '7') => '\'',
            ('2', 'f') => '/',
            ('3', 'a') => ':',
            ('3', 'c') => '<',
            ('3', 'e') => '>',
            ('4', '0') => '@',
            ('5', 'c') => '\\',
            _ => '\0',
        };
    }
}
