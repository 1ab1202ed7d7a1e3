using Microsoft.Extensions.Logging;
using Parley.Xmpp.Core;
using Parley.Xmpp.Im;

namespace Parley.Xmpp.FileTransfer;

/// <summary>One method of a send plan and the address it goes to; <see cref="Skipped"/> when the receiver does not announce it.</summary>
internal readonly record struct SendStep(FileTransferMethod Method, Jid To, FileTransferAttempt? Skipped = null);

/// <summary>What is known of the receiver before a send: its resources with their features, and whether disco was asked at all.</summary>
/// <param name="Resources">The resources that may receive the file, each with its features (null: unknown).</param>
/// <param name="DiscoDone">Whether the features were asked for; without that, SI goes to the address as given.</param>
internal sealed record ReceiverFeatures(IReadOnlyList<(Jid Resource, DiscoInfo? Info)> Resources, bool DiscoDone)
{
    public static ReceiverFeatures Unknown { get; } = new([], false);
}

/// <summary>
/// The send plan: which methods to try, in which order, and to which resource. Pure logic over what disco said; the
/// features are gathered by <see cref="SendPlanner"/>.
/// </summary>
internal static class SendPlan
{
    /// <summary>
    /// Plans a send: the methods to try in order of preference (Jingle, SI, HTTP upload, as first listed in
    /// <paramref name="methods"/>), each with its receiver. Jingle goes to a resource announcing Jingle file transfer with a
    /// transport we may use, SI to one announcing SI (or, when nothing later is listed, to any resource: some clients do
    /// not announce it), the HTTP link to <paramref name="to"/> as given. A method the receiver does not announce stays in the
    /// plan as a skipped step (logged), so that it is reported only when the send gets past it.
    /// </summary>
    /// <exception cref="FileTransferException">No method is possible (no online resource, nothing announced and no HTTP upload).</exception>
    public static IReadOnlyList<SendStep> Create(Jid to, IReadOnlyList<FileTransferMethod> methods, ReceiverFeatures receiver, string name, ILogger logger)
    {
        var families = methods.Select(FamilyOf).Distinct().ToList();
        var allowJingle = families.Contains(FileTransferMethod.Jingle);
        var allowSi = families.Contains(FileTransferMethod.Socks5Bytestreams);
        var allowHttp = families.Contains(FileTransferMethod.HttpUpload);
        var transports = TransportsOf(methods);
        var resources = receiver.Resources;
        var plan = new List<SendStep>();
        if ((allowJingle || allowSi) && to.IsBare && resources.Count == 0)
        {
            var why = $"{to} has no online resource that answered disco";
            if (!allowHttp)
            {
                throw new FileTransferException(FileTransferError.NoCommonMethod, why + "; send to a full JID.");
            }

            Skip(allowJingle ? FileTransferMethod.Jingle : FileTransferMethod.Socks5Bytestreams, why);
        }

        for (var i = 0; i < families.Count; i++)
        {
            var laterFamilies = families.Skip(i + 1).Any(f => f != FileTransferMethod.Jingle || resources.Count > 0);
            switch (families[i])
            {
                case FileTransferMethod.Jingle when resources.Count > 0:
                    string? missing = null;
                    foreach (var (resource, info) in resources)
                    {
                        missing = JingleSupport(info, transports);
                        if (missing is null)
                        {
                            JingleLog.MethodChosen(logger, resource, FileTransferMethod.Jingle, "it announces urn:xmpp:jingle:1, Jingle file transfer (ft:5) and a transport we may use");
                            plan.Add(new SendStep(FileTransferMethod.Jingle, resource));
                            break;
                        }

                        JingleLog.ResourceSkipped(logger, resource, "no Jingle: " + missing);
                    }

                    if (missing is not null)
                    {
                        Skip(FileTransferMethod.Jingle, $"{to} does not announce Jingle file transfer ({missing})");
                    }

                    break;
                case FileTransferMethod.Socks5Bytestreams when resources.Count > 0:
                    var si = resources.FirstOrDefault(r => r.Info is { } i && i.Supports(FileTransferNamespaces.FileTransferProfile));
                    if (si.Resource is not null)
                    {
                        JingleLog.MethodChosen(logger, si.Resource, FileTransferMethod.Socks5Bytestreams, "SI file transfer is announced");
                        plan.Add(new SendStep(FileTransferMethod.Socks5Bytestreams, si.Resource));
                    }
                    else if (!receiver.DiscoDone || (!plan.Exists(step => step.Skipped is null) && !laterFamilies))
                    {
                        // Nothing better is possible: some clients take SI without announcing it.
                        JingleLog.MethodChosen(logger, resources[0].Resource, FileTransferMethod.Socks5Bytestreams,
                            receiver.DiscoDone ? "nothing better is announced; trying SI" : "only SI methods are allowed for this send");
                        plan.Add(new SendStep(FileTransferMethod.Socks5Bytestreams, resources[0].Resource));
                    }
                    else
                    {
                        Skip(FileTransferMethod.Socks5Bytestreams, $"{to} does not announce SI file transfer");
                    }

                    break;
                case FileTransferMethod.HttpUpload:
                    plan.Add(new SendStep(FileTransferMethod.HttpUpload, to));
                    break;
            }
        }

        if (plan.TrueForAll(step => step.Skipped is not null))
        {
            throw new FileTransferException(FileTransferError.NoCommonMethod, allowSi
                ? $"{to} announces none of the allowed methods: {string.Join("; ", plan.Select(step => step.Skipped))}."
                : $"{to} does not announce Jingle file transfer, and SI is not allowed for this send.");
        }

        return plan;

        void Skip(FileTransferMethod method, string why)
        {
            FileTransferLog.MethodSkipped(logger, name, to, method, why);
            plan.Add(new SendStep(method, to, new FileTransferAttempt(method, null, why)));
        }
    }

    /// <summary>The negotiation a method belongs to: the two SI stream methods are one (SI), Jingle and HTTP upload are their own.</summary>
    public static FileTransferMethod FamilyOf(FileTransferMethod method) => method is FileTransferMethod.InBandBytestreams ? FileTransferMethod.Socks5Bytestreams : method;

    /// <summary>The bytestreams a Jingle session may use: those listed, or both when only Jingle is listed.</summary>
    public static FileTransferMethod[] TransportsOf(IReadOnlyList<FileTransferMethod> methods)
    {
        var transports = methods.Where(m => m is FileTransferMethod.Socks5Bytestreams or FileTransferMethod.InBandBytestreams).ToArray();
        return transports.Length > 0 ? transports : [FileTransferMethod.Socks5Bytestreams, FileTransferMethod.InBandBytestreams];
    }

    /// <summary>Why <paramref name="info"/> rules Jingle out, or <see langword="null"/> when it announces everything needed.</summary>
    public static string? JingleSupport(DiscoInfo? info, IReadOnlyList<FileTransferMethod> transports)
    {
        if (info is null)
        {
            return "its features are unknown";
        }

        if (!info.Supports(FileTransferNamespaces.Jingle))
        {
            return "urn:xmpp:jingle:1 not announced";
        }

        if (!info.Supports(FileTransferNamespaces.JingleFileTransfer))
        {
            return "urn:xmpp:jingle:apps:file-transfer:5 not announced";
        }

        var s5b = transports.Contains(FileTransferMethod.Socks5Bytestreams) && info.Supports(FileTransferNamespaces.JingleS5b);
        var ibb = transports.Contains(FileTransferMethod.InBandBytestreams) && info.Supports(FileTransferNamespaces.JingleIbb);
        return s5b || ibb ? null : "no Jingle transport in common (s5b:1 / ibb:1)";
    }
}
