using Microsoft.Extensions.Options;
using Parley.Testing;
using Parley.Web.Configuration;
using Parley.Web.Text;
using Parley.Web.Xmpp;

namespace Parley.Web.Tests;

public sealed class OwnerProfileUnitTests : IDisposable
{
    private static readonly byte[] Png = TestImages.Png(8, (0, 0, 0), (255, 255, 255));
    private readonly string _folder = Directory.CreateTempSubdirectory("parley-owner-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void Only_png_jpeg_gif_and_webp_are_recognised_by_their_bytes()
    {
        Assert.Equal("image/png", ImageTypes.Sniff(Png));
        Assert.Equal("image/jpeg", ImageTypes.Sniff([0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10]));
        Assert.Equal("image/gif", ImageTypes.Sniff("GIF89a\x01\0\x01\0"u8));
        Assert.Equal("image/webp", ImageTypes.Sniff("RIFF\x10\0\0\0WEBPVP8 "u8));
        Assert.Null(ImageTypes.Sniff("<svg xmlns='http://www.w3.org/2000/svg'/>"u8));
        Assert.Null(ImageTypes.Sniff("<html><script>alert(1)</script>"u8));
        Assert.Null(ImageTypes.Sniff("RIFF\x10\0\0\0WAVE"u8));
        Assert.Null(OwnerAvatar.Of(new byte[OwnerAvatar.MaxBytes + 1]));
    }

    [Theory]
    [InlineData("Alex", 10, "Alex")]
    [InlineData("  In a\r\nmeeting\t ", 20, "In a meeting")]
    [InlineData("Back at five o'clock", 10, "Back at f…")]
    [InlineData("abcdefghi😀z", 10, "abcdefghi…")]
    public void Names_and_status_texts_are_one_line_cut_with_an_ellipsis(string text, int max, string expected)
    {
        var shortened = OwnerProfile.Shorten(text, max);
        Assert.Equal(expected, shortened);
        Assert.True(shortened.Length <= max);
    }

    [Fact]
    public void Configuration_wins_over_the_profile_and_the_latest_status_is_shown()
    {
        var file = Path.Combine(_folder, "me.png");
        File.WriteAllBytes(file, Png);
        var profile = new OwnerProfile(Options.Create(new GatewayOptions { OwnerName = "Alex", OwnerAvatar = file }));
        var changes = 0;
        profile.Changed += () => changes++;

        profile.SetFromProfile("Sam", OwnerAvatar.Of(TestImages.Png(4, (1, 2, 3), (4, 5, 6))), "hash");
        Assert.Equal("Alex", profile.Current.Name);
        Assert.Equal(Png, profile.Current.Avatar?.Data);
        Assert.Equal(0, changes);

        profile.SetStatus("phone", "on the train");
        profile.SetStatus("desk", "in a meeting");
        Assert.Equal("in a meeting", profile.Current.Status);
        profile.SetStatus("desk", null);
        Assert.Equal("on the train", profile.Current.Status);
        profile.ClearStatus();
        Assert.Null(profile.Current.Status);
        Assert.Equal(4, changes);
    }

    [Fact]
    public void Without_configuration_the_profile_is_shown()
    {
        var profile = new OwnerProfile(Options.Create(new GatewayOptions()));
        Assert.Equal(new OwnerProfileView(null, null, null), profile.Current);
        Assert.Null(profile.ProfileAvatarHash);
        var avatar = OwnerAvatar.Of(Png);
        profile.SetFromProfile(new string('x', 100), avatar, "abc");
        Assert.Equal(OwnerProfile.MaxNameLength, profile.Current.Name?.Length);
        Assert.Same(avatar, profile.Current.Avatar);
        Assert.Equal("abc", profile.ProfileAvatarHash);
    }

    [Fact]
    public void The_avatar_option_must_name_a_small_image_and_the_refresh_a_sane_interval()
    {
        var svg = Path.Combine(_folder, "me.svg");
        File.WriteAllText(svg, "<svg xmlns='http://www.w3.org/2000/svg'/>");
        var big = Path.Combine(_folder, "big.png");
        File.WriteAllBytes(big, [.. Png, .. new byte[OwnerAvatar.MaxBytes]]);
        var good = Path.Combine(_folder, "good.png");
        File.WriteAllBytes(good, Png);

        Assert.Equal("must be a PNG, JPEG, GIF or WebP image.", OwnerAvatarFile.Problem(svg));
        Assert.Equal("must be an image of at most 256 KiB.", OwnerAvatarFile.Problem(big));
        Assert.Equal("must name an existing file.", OwnerAvatarFile.Problem(Path.Combine(_folder, "none.png")));
        Assert.Null(OwnerAvatarFile.Problem(good));

        var options = new GatewayOptions { Owner = "owner@example.org", OwnerAvatar = svg, OwnerProfileRefresh = TimeSpan.Zero };
        options.Component.Domain = "chat.example.org";
        options.Component.Secret = "secret";
        var failures = new GatewayOptionsValidator().Validate(null, options).Failures ?? [];
        Assert.Contains(failures, f => f.Contains("OwnerAvatar must be a PNG", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.Contains("OwnerProfileRefresh", StringComparison.Ordinal));
    }
}
