using System.Globalization;

namespace Parley.Xmpp.FileTransfer;

/// <summary>XEP-0047 sequence numbers: 16 bits, starting at 0, wrapping from 65535 to 0, strictly in order.</summary>
internal struct IbbSequence
{
    public ushort Next { get; private set; }

    /// <summary>Accepts the attribute value if it is exactly the next number, and advances.</summary>
    public bool TryAccept(string? value)
    {
        if (!ushort.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var seq) || seq != Next)
        {
            return false;
        }

        Next = unchecked((ushort)(seq + 1));
        return true;
    }

    /// <summary>Returns the current number for sending and advances.</summary>
    public ushort Take()
    {
        var seq = Next;
        Next = unchecked((ushort)(seq + 1));
        return seq;
    }

    public static IbbSequence StartingAt(ushort next) => new() { Next = next };
}
