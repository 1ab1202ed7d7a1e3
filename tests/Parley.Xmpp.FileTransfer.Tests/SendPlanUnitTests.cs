using Microsoft.Extensions.Logging.Abstractions;
using Parley.Xmpp.Core;
using Parley.Xmpp.Im;

namespace Parley.Xmpp.FileTransfer.Tests;

/// <summary>The send plan (which methods, in which order, to which resource) as pure logic over what disco said: no server.</summary>
public sealed class SendPlanUnitTests
{
    private static readonly Jid Bob = Jid.Parse("bob@example.org/laptop");
    private static readonly FileTransferMethod[] Defaults = [FileTransferMethod.Jingle, FileTransferMethod.Socks5Bytestreams, FileTransferMethod.InBandBytestreams];
    private static readonly FileTransferMethod[] WithLink = [.. Defaults, FileTransferMethod.HttpUpload];

    private static readonly string[] JingleS5b = [FileTransferNamespaces.Jingle, FileTransferNamespaces.JingleFileTransfer, FileTransferNamespaces.JingleS5b];
    private static readonly string[] Si = [FileTransferNamespaces.FileTransferProfile];

    [Fact]
    public void A_receiver_announcing_jingle_gets_jingle_and_si_is_kept_as_skipped()
    {
        var plan = Plan(Bob, Defaults, Announcing(Bob, JingleS5b));

        Assert.Collection(plan,
            step => Assert.Equal((FileTransferMethod.Jingle, Bob, (FileTransferAttempt?)null), (step.Method, step.To, step.Skipped)),
            step =>
            {
                Assert.Equal(FileTransferMethod.Socks5Bytestreams, step.Method);
                Assert.Contains("does not announce SI file transfer", step.Skipped!.Reason, StringComparison.Ordinal);
            });
    }

    [Fact]
    public void A_receiver_announcing_only_si_gets_si_after_a_skipped_jingle_that_says_why()
    {
        var plan = Plan(Bob, Defaults, Announcing(Bob, Si));

        Assert.Equal([FileTransferMethod.Jingle, FileTransferMethod.Socks5Bytestreams], plan.Select(s => s.Method));
        Assert.Contains("does not announce Jingle file transfer (urn:xmpp:jingle:1 not announced)", plan[0].Skipped!.Reason, StringComparison.Ordinal);
        Assert.Null(plan[1].Skipped);
    }

    [Fact]
    public void Si_is_tried_unannounced_when_nothing_later_is_listed()
    {
        var plan = Plan(Bob, Defaults, Announcing(Bob));

        Assert.NotNull(plan[0].Skipped);
        Assert.Equal((FileTransferMethod.Socks5Bytestreams, Bob, (FileTransferAttempt?)null), (plan[1].Method, plan[1].To, plan[1].Skipped));
    }

    [Fact]
    public void Si_is_skipped_unannounced_when_the_link_comes_after_it()
    {
        var plan = Plan(Bob, WithLink, Announcing(Bob));

        Assert.Equal([FileTransferMethod.Jingle, FileTransferMethod.Socks5Bytestreams, FileTransferMethod.HttpUpload], plan.Select(s => s.Method));
        Assert.NotNull(plan[0].Skipped);
        Assert.NotNull(plan[1].Skipped);
        Assert.Null(plan[2].Skipped);
    }

    [Fact]
    public void Without_disco_si_goes_to_the_address_as_given()
    {
        var plan = Plan(Bob, [FileTransferMethod.Socks5Bytestreams, FileTransferMethod.InBandBytestreams], new ReceiverFeatures([(Bob, null)], DiscoDone: false));

        Assert.Equal([new SendStep(FileTransferMethod.Socks5Bytestreams, Bob)], plan);
    }

    [Fact]
    public void A_bare_jid_with_no_online_resource_fails_without_a_link_and_goes_to_the_link_with_one()
    {
        var bare = Bob.Bare;
        var error = Assert.Throws<FileTransferException>(() => Plan(bare, Defaults, new ReceiverFeatures([], DiscoDone: true)));
        Assert.Equal(FileTransferError.NoCommonMethod, error.Error);
        Assert.Contains("has no online resource", error.Message, StringComparison.Ordinal);

        var plan = Plan(bare, WithLink, new ReceiverFeatures([], DiscoDone: true));
        Assert.Equal([FileTransferMethod.Jingle, FileTransferMethod.HttpUpload], plan.Select(s => s.Method));
        Assert.Contains("has no online resource", plan[0].Skipped!.Reason, StringComparison.Ordinal);
        Assert.Equal(bare, plan[1].To);
    }

    [Fact]
    public void Jingle_goes_to_the_first_resource_that_announces_it()
    {
        var phone = Jid.Parse("bob@example.org/phone");
        var plan = Plan(Bob.Bare, Defaults, new ReceiverFeatures([(Bob, Info(Si)), (phone, Info(JingleS5b))], DiscoDone: true));

        Assert.Equal(new SendStep(FileTransferMethod.Jingle, phone), plan[0]);
        Assert.Equal(new SendStep(FileTransferMethod.Socks5Bytestreams, Bob), plan[1]);
    }

    [Fact]
    public void Methods_are_planned_in_the_order_they_are_first_listed()
    {
        var plan = Plan(Bob, [FileTransferMethod.HttpUpload, FileTransferMethod.InBandBytestreams, FileTransferMethod.Jingle], Announcing(Bob, [.. Si, .. JingleS5b, FileTransferNamespaces.JingleIbb]));

        Assert.Equal([FileTransferMethod.HttpUpload, FileTransferMethod.Socks5Bytestreams, FileTransferMethod.Jingle], plan.Select(s => s.Method));
        Assert.All(plan, step => Assert.Null(step.Skipped));
    }

    [Fact]
    public void Jingle_needs_a_transport_we_may_use()
    {
        // In-band listed is also SI's in-band stream: with nothing after it, SI is tried unannounced.
        var plan = Plan(Bob, [FileTransferMethod.Jingle, FileTransferMethod.InBandBytestreams], Announcing(Bob, JingleS5b));

        Assert.Contains("no Jingle transport in common", plan[0].Skipped!.Reason, StringComparison.Ordinal);
        Assert.Equal(new SendStep(FileTransferMethod.Socks5Bytestreams, Bob), plan[1]);
    }

    [Fact]
    public void Only_jingle_allowed_and_not_announced_is_no_common_method()
    {
        var error = Assert.Throws<FileTransferException>(() => Plan(Bob, [FileTransferMethod.Jingle], Announcing(Bob, Si)));

        Assert.Equal(FileTransferError.NoCommonMethod, error.Error);
        Assert.Contains("SI is not allowed for this send", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Jingle_alone_may_use_both_transports()
    {
        Assert.Equal([FileTransferMethod.Socks5Bytestreams, FileTransferMethod.InBandBytestreams], SendPlan.TransportsOf([FileTransferMethod.Jingle]));
        Assert.Equal([FileTransferMethod.InBandBytestreams], SendPlan.TransportsOf([FileTransferMethod.Jingle, FileTransferMethod.InBandBytestreams]));
    }

    private static IReadOnlyList<SendStep> Plan(Jid to, FileTransferMethod[] methods, ReceiverFeatures receiver) =>
        SendPlan.Create(to, methods, receiver, "report.pdf", NullLogger.Instance);

    private static ReceiverFeatures Announcing(Jid resource, params string[] features) => new([(resource, Info(features))], DiscoDone: true);

    private static DiscoInfo Info(string[] features) => new([], new HashSet<string>(features), []);
}

/// <summary>The walk through a send plan after failures (decline, abort, rewind, final errors) as pure logic: no server.</summary>
public sealed class FallbackChainUnitTests
{
    private static readonly Jid Bob = Jid.Parse("bob@example.org/laptop");

    private static readonly SendStep[] JingleSiLink =
    [
        new(FileTransferMethod.Jingle, Bob),
        new(FileTransferMethod.Socks5Bytestreams, Bob),
        new(FileTransferMethod.HttpUpload, Bob.Bare),
    ];

    [Fact]
    public void A_failed_method_gives_way_to_the_next_and_the_content_is_rewound()
    {
        var chain = new FallbackChain(JingleSiLink, contentSeekable: true, hashGivenByCaller: false);

        Assert.Equal(FileTransferMethod.Jingle, chain.MoveNext()!.Value.Method);
        Assert.Equal(new FallbackDecision(Rewind: true, Next: FileTransferMethod.Socks5Bytestreams), chain.OnFailure(FileTransferError.StreamFailed, "no candidate worked"));
        Assert.Equal(FileTransferMethod.Socks5Bytestreams, chain.MoveNext()!.Value.Method);
        Assert.Equal([new FileTransferAttempt(FileTransferMethod.Jingle, FileTransferError.StreamFailed, "no candidate worked")], chain.Attempts);
    }

    [Fact]
    public void A_decline_closes_the_other_direct_methods_but_not_the_link()
    {
        var chain = new FallbackChain(JingleSiLink, contentSeekable: true, hashGivenByCaller: false);
        chain.MoveNext();

        Assert.Equal(new FallbackDecision(true, FileTransferMethod.HttpUpload), chain.OnFailure(FileTransferError.Declined, "bob declined"));
        Assert.Equal(new SendStep(FileTransferMethod.HttpUpload, Bob.Bare), chain.MoveNext());
        Assert.Equal(
            [
                new FileTransferAttempt(FileTransferMethod.Jingle, FileTransferError.Declined, "bob declined"),
                new FileTransferAttempt(FileTransferMethod.Socks5Bytestreams, null, "not offered again after the decline"),
            ],
            chain.Attempts);
    }

    [Fact]
    public void A_transfer_the_receiver_ended_closes_the_other_direct_methods()
    {
        var chain = new FallbackChain(JingleSiLink[..2], contentSeekable: true, hashGivenByCaller: false);
        chain.MoveNext();

        // Nothing may follow: the failure is the answer (the content is still rewound).
        Assert.Equal(new FallbackDecision(true, null), chain.OnFailure(FileTransferError.Aborted, "disk full"));
        Assert.Empty(chain.Attempts);
    }

    [Fact]
    public void Content_that_cannot_be_rewound_only_falls_back_when_nothing_was_read()
    {
        var chain = new FallbackChain(JingleSiLink, contentSeekable: false, hashGivenByCaller: false);
        chain.MoveNext();
        Assert.Equal(new FallbackDecision(false, null), chain.OnFailure(FileTransferError.StreamFailed, "broke"));

        chain = new FallbackChain(JingleSiLink, contentSeekable: false, hashGivenByCaller: false);
        chain.MoveNext();
        Assert.Equal(new FallbackDecision(false, FileTransferMethod.Socks5Bytestreams), chain.OnFailure(FileTransferError.NoCommonMethod, "unsupported"));
    }

    [Fact]
    public void A_mismatch_of_the_callers_hash_is_final()
    {
        var chain = new FallbackChain(JingleSiLink, contentSeekable: true, hashGivenByCaller: true);
        chain.MoveNext();
        Assert.Equal(new FallbackDecision(false, null), chain.OnFailure(FileTransferError.HashMismatch, "media-error"));

        chain = new FallbackChain(JingleSiLink, contentSeekable: true, hashGivenByCaller: false);
        chain.MoveNext();
        Assert.Equal(FileTransferMethod.Socks5Bytestreams, chain.OnFailure(FileTransferError.HashMismatch, "media-error").Next);
    }

    [Fact]
    public void The_last_method_failing_is_final_without_a_rewind()
    {
        var chain = new FallbackChain([new SendStep(FileTransferMethod.Jingle, Bob)], contentSeekable: true, hashGivenByCaller: false);
        chain.MoveNext();

        Assert.Equal(new FallbackDecision(false, null), chain.OnFailure(FileTransferError.Declined, "no"));
        Assert.Null(chain.MoveNext());
    }

    [Fact]
    public void Skipped_steps_are_recorded_as_they_are_passed_and_the_result_says_why_methods_were_given_up()
    {
        var skipped = new FileTransferAttempt(FileTransferMethod.Jingle, null, "bob does not announce Jingle file transfer");
        SendStep[] plan = [new(FileTransferMethod.Jingle, Bob, skipped), new(FileTransferMethod.Socks5Bytestreams, Bob), new(FileTransferMethod.HttpUpload, Bob.Bare)];
        var chain = new FallbackChain(plan, contentSeekable: true, hashGivenByCaller: false);

        Assert.Equal(FileTransferMethod.Socks5Bytestreams, chain.MoveNext()!.Value.Method);
        Assert.Equal([skipped], chain.Attempts);
        chain.OnFailure(FileTransferError.Timeout, "no answer");
        chain.MoveNext();
        var result = chain.Complete(new FileTransferResult("http-1", FileTransferMethod.HttpUpload, 10, new string('0', 64), TimeSpan.Zero));

        Assert.Equal([skipped, new FileTransferAttempt(FileTransferMethod.Socks5Bytestreams, FileTransferError.Timeout, "no answer")], result.Attempts);
        Assert.Equal("Socks5Bytestreams: no answer", result.FallbackReason);
    }

    [Fact]
    public void A_result_keeps_its_own_fallback_reason_after_those_of_the_methods_given_up()
    {
        var chain = new FallbackChain(JingleSiLink, contentSeekable: true, hashGivenByCaller: false);
        chain.MoveNext();
        chain.OnFailure(FileTransferError.StreamFailed, "jingle broke");
        chain.MoveNext();
        var result = chain.Complete(new FileTransferResult("s", FileTransferMethod.InBandBytestreams, 1, new string('0', 64), TimeSpan.Zero, "no streamhost"));

        Assert.Equal("Jingle: jingle broke; no streamhost", result.FallbackReason);
    }

    [Fact]
    public void A_first_try_that_works_is_returned_as_it_is()
    {
        var chain = new FallbackChain(JingleSiLink, contentSeekable: true, hashGivenByCaller: false);
        chain.MoveNext();
        var result = new FileTransferResult("s", FileTransferMethod.Jingle, 1, new string('0', 64), TimeSpan.Zero);

        Assert.Same(result, chain.Complete(result));
    }
}
