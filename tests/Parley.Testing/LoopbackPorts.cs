using Parley.Testing.Internal;

namespace Parley.Testing;

/// <summary>Free TCP ports on 127.0.0.1 for things a test starts itself and whose address must be known in advance (a redirect URI).</summary>
public static class LoopbackPorts
{
    /// <summary>A port that was free a moment ago and is never handed out twice in this process.</summary>
    /// <exception cref="XmppTestServerException">No free port was found.</exception>
    public static int Allocate() => FreePorts.Allocate(1)[0];
}
