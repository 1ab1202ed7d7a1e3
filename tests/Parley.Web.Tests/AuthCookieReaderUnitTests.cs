using Microsoft.AspNetCore.Http;
using Parley.Web.Api;
using Parley.Web.Auth;

namespace Parley.Web.Tests;

/// <summary>The auth cookie read from the Cookie header without parsing every cookie, against ASP.NET's own parser.</summary>
public sealed class AuthCookieReaderUnitTests
{
    [Theory]
    [InlineData("parley.visitor=abc", "abc")]
    [InlineData("parley.csrf=xyz; parley.visitor=abc", "abc")]
    [InlineData("parley.csrf=xyz;parley.visitor=abc;other=1", "abc")]
    [InlineData("  parley.visitor=abc ; x=y", "abc")]
    [InlineData("parley.visitor =abc; x=y", null)]
    [InlineData("parley.visitor=first; parley.visitor=second", "second")]
    [InlineData("xparley.visitor=no; parley.visitorx=no", null)]
    [InlineData("parley.visitor=", null)]
    [InlineData("garbage; =; parley.visitor=v=with=equals", "v=with=equals")]
    [InlineData("", null)]
    public void Finds_the_same_value_as_the_request_cookie_collection(string header, string? expected)
    {
        Assert.Equal(expected, AuthCookieReader.Find(header, "parley.visitor"));

        var context = new DefaultHttpContext();
        context.Request.Headers.Cookie = header;
        Assert.Equal(expected, new AuthCookieReader().GetRequestCookie(context, "parley.visitor"));
        Assert.Equal(context.Request.Cookies["parley.visitor"], new AuthCookieReader().GetRequestCookie(context, "parley.visitor"));
    }

    [Fact]
    public void Escaped_chunked_and_repeated_headers_go_to_the_full_parser()
    {
        var reader = new AuthCookieReader();
        var escaped = new DefaultHttpContext();
        escaped.Request.Headers.Cookie = "parley.visitor=a%20b";
        Assert.Equal("a b", reader.GetRequestCookie(escaped, "parley.visitor"));

        var chunked = new DefaultHttpContext();
        chunked.Request.Headers.Cookie = "parley.visitor=chunks-2; parley.visitorC1=ab; parley.visitorC2=cd";
        Assert.Equal("abcd", reader.GetRequestCookie(chunked, "parley.visitor"));

        var two = new DefaultHttpContext();
        two.Request.Headers.Cookie = new Microsoft.Extensions.Primitives.StringValues(["a=1", "parley.visitor=abc"]);
        Assert.Equal("abc", reader.GetRequestCookie(two, "parley.visitor"));

        var none = new DefaultHttpContext();
        Assert.Null(reader.GetRequestCookie(none, "parley.visitor"));
    }

    [Fact]
    public void Reading_the_auth_cookie_leaves_the_other_cookies_unparsed()
    {
        var context = new DefaultHttpContext();
        context.Request.Headers.Cookie = "parley.csrf=xyz; parley.visitor=abc";
        Assert.Equal("abc", new AuthCookieReader().GetRequestCookie(context, "parley.visitor"));
        Assert.Null(context.Features.Get<Microsoft.AspNetCore.Http.Features.IRequestCookiesFeature>());
    }
}
