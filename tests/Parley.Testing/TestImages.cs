using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace Parley.Testing;

/// <summary>Real, small PNG images for avatar tests: a disc of one colour on another, so a screenshot shows it.</summary>
public static class TestImages
{
    private static readonly uint[] s_crcTable = BuildCrcTable();

    /// <summary>A square RGB PNG of <paramref name="size"/> pixels: a disc of <paramref name="disc"/> on <paramref name="background"/>.</summary>
    public static byte[] Png(int size, (byte R, byte G, byte B) background, (byte R, byte G, byte B) disc)
    {
        var raw = new byte[size * (1 + (size * 3))];
        var centre = (size - 1) / 2.0;
        var radius = size * 0.38;
        for (var y = 0; y < size; y++)
        {
            var row = y * (1 + (size * 3)); // filter byte 0 (none) per row
            for (var x = 0; x < size; x++)
            {
                var inside = ((x - centre) * (x - centre)) + ((y - centre) * (y - centre)) <= radius * radius;
                var (r, g, b) = inside ? disc : background;
                var at = row + 1 + (x * 3);
                raw[at] = r;
                raw[at + 1] = g;
                raw[at + 2] = b;
            }
        }

        using var compressed = new MemoryStream();
        using (var zlib = new ZLibStream(compressed, CompressionLevel.Optimal, leaveOpen: true))
        {
            zlib.Write(raw);
        }

        var header = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, size);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), size);
        header[8] = 8; // bit depth
        header[9] = 2; // RGB
        using var png = new MemoryStream();
        png.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        Chunk(png, "IHDR", header);
        Chunk(png, "IDAT", compressed.ToArray());
        Chunk(png, "IEND", []);
        return png.ToArray();
    }

    private static void Chunk(Stream output, string type, ReadOnlySpan<byte> data)
    {
        Span<byte> number = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(number, data.Length);
        output.Write(number);
        var typeBytes = Encoding.ASCII.GetBytes(type);
        output.Write(typeBytes);
        output.Write(data);
        var crc = Crc32(Crc32(0xFFFFFFFF, typeBytes), data) ^ 0xFFFFFFFF;
        BinaryPrimitives.WriteUInt32BigEndian(number, crc);
        output.Write(number);
    }

    private static uint Crc32(uint crc, ReadOnlySpan<byte> data)
    {
        foreach (var b in data)
        {
            crc = s_crcTable[(crc ^ b) & 0xFF] ^ (crc >> 8);
        }

        return crc;
    }

    private static uint[] BuildCrcTable()
    {
        var table = new uint[256];
        for (uint n = 0; n < 256; n++)
        {
            var c = n;
            for (var k = 0; k < 8; k++)
            {
                c = (c & 1) != 0 ? 0xEDB88320 ^ (c >> 1) : c >> 1;
            }

            table[n] = c;
        }

        return table;
    }
}
