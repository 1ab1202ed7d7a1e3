using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Parley.Xmpp.Core;
using Parley.Xmpp.Sasl;

namespace Parley.Fuzz.Targets;

/// <summary>
/// The client side of SCRAM reading what the server sends: server-first, then server-final either as a challenge or as
/// the data of &lt;success/&gt;. The input is server-first, optionally followed by a NUL byte and server-final (NUL cannot
/// occur in a SCRAM message). Both SCRAM-SHA-1 and SCRAM-SHA-256 read every input, each with the user, password and
/// client nonce of its RFC example (RFC 5802 §5, RFC 7677 §3), so the committed examples run the whole exchange.
/// </summary>
/// <remarks>
/// Clear error: <see cref="XmppAuthenticationException"/>. Inputs whose iteration count is over
/// <see cref="MaxFuzzedIterations"/> are not run: the mechanism accepts up to ten million iterations on purpose (seconds
/// of work, a hang to afl), and that limit has its own unit tests.
/// </remarks>
internal sealed class ScramTarget : FuzzTarget
{
    private const int MaxFuzzedIterations = 20_000;

    private static readonly (HashAlgorithmName Hash, string Nonce)[] Exchanges =
    [
        (HashAlgorithmName.SHA1, "fyko+d2lbbFgONRv9qkxdawL"),
        (HashAlgorithmName.SHA256, "rOprNGfwEbeRWgbNEkqO"),
    ];

    public override string Name => "scram";

    public override string Description => "SCRAM-SHA-1/256 client reading server-first and server-final";

    protected override void Feed(byte[] input)
    {
        var separator = Array.IndexOf(input, (byte)0);
        var serverFirst = separator < 0 ? input : input[..separator];
        var serverFinal = separator < 0 ? null : input[(separator + 1)..];
        if (IterationCount(serverFirst) > MaxFuzzedIterations)
        {
            return;
        }

        var splits = new InputSplits(input);
        foreach (var (hash, nonce) in Exchanges)
        {
            Exchange(hash, nonce, serverFirst, serverFinal, finalAsChallenge: splits.NextBool());
        }
    }

    protected override bool IsClearError(Exception exception) => false;

    private static void Exchange(HashAlgorithmName hash, string nonce, byte[] serverFirst, byte[]? serverFinal, bool finalAsChallenge)
    {
        var credentials = new SaslCredentials { Username = "user", Password = "pencil" };
        var mechanism = new ScramMechanism(hash, credentials, channelBinding: null, serverOffersPlus: false, clientNonce: nonce);
        _ = mechanism.GetInitialResponse();
        try
        {
            _ = mechanism.EvaluateChallenge(serverFirst);
            if (serverFinal is null)
            {
                return;
            }

            if (finalAsChallenge)
            {
                _ = mechanism.EvaluateChallenge(serverFinal);
            }

            mechanism.VerifySuccess(finalAsChallenge ? [] : serverFinal);
        }
        catch (XmppAuthenticationException)
        {
            // The documented answer to a bad server message; the exchange is over, later calls must refuse too.
            AssertRefusesAfterFailure(mechanism);
        }
    }

    private static void AssertRefusesAfterFailure(ScramMechanism mechanism)
    {
        try
        {
            mechanism.VerifySuccess([]);
        }
        catch (XmppAuthenticationException)
        {
            return;
        }

        throw new FuzzFindingException("A failed SCRAM exchange accepted success afterwards.");
    }

    /// <summary>The i= attribute of server-first, as far as it reads as a number; 0 when there is none.</summary>
    private static long IterationCount(byte[] serverFirst)
    {
        var text = Encoding.UTF8.GetString(serverFirst);
        foreach (var attribute in text.Split(','))
        {
            if (attribute.StartsWith("i=", StringComparison.Ordinal))
            {
                var digits = new string(attribute.AsSpan(2).ToArray().TakeWhile(char.IsAsciiDigit).ToArray());
                return digits.Length == 0 ? 0 : digits.Length > 9 ? long.MaxValue : long.Parse(digits, CultureInfo.InvariantCulture);
            }
        }

        return 0;
    }
}
