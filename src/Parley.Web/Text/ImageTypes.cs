namespace Parley.Web.Text;

/// <summary>
/// The image types the page may show, told by their first bytes rather than by what a sender declared: the gateway
/// serves an avatar with the type its bytes prove, so a browser never guesses (and never runs an SVG or HTML).
/// </summary>
internal static class ImageTypes
{
    /// <summary><c>image/png</c>, <c>image/jpeg</c>, <c>image/gif</c> or <c>image/webp</c>; <see langword="null"/> for anything else.</summary>
    public static string? Sniff(ReadOnlySpan<byte> data)
    {
        if (data.StartsWith((ReadOnlySpan<byte>)[0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]))
        {
            return "image/png";
        }

        if (data.StartsWith((ReadOnlySpan<byte>)[0xFF, 0xD8, 0xFF]))
        {
            return "image/jpeg";
        }

        if (data.StartsWith("GIF87a"u8) || data.StartsWith("GIF89a"u8))
        {
            return "image/gif";
        }

        return data.Length >= 12 && data.StartsWith("RIFF"u8) && data[8..12].SequenceEqual("WEBP"u8) ? "image/webp" : null;
    }
}
