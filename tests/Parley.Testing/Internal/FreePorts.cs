using System.Net;
using System.Net.Sockets;

namespace Parley.Testing.Internal;

/// <summary>Finds free TCP ports on 127.0.0.1 by letting the kernel pick them (bind to port 0).</summary>
/// <remarks>
/// The port is released before the server binds it, so another process can take it in between; the
/// servers retry their first start with new ports when that happens. Within this process a port is
/// never handed out twice.
/// </remarks>
internal static class FreePorts
{
    private static readonly HashSet<int> s_handedOut = [];

    /// <summary>Returns <paramref name="count"/> distinct free ports.</summary>
    public static int[] Allocate(int count)
    {
        var sockets = new List<Socket>(count);
        try
        {
            var ports = new int[count];
            lock (s_handedOut)
            {
                for (var i = 0; i < count; i++)
                {
                    for (var attempt = 0; ; attempt++)
                    {
                        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                        sockets.Add(socket);
                        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
                        var port = ((IPEndPoint)socket.LocalEndPoint!).Port;
                        if (s_handedOut.Add(port))
                        {
                            ports[i] = port;
                            break;
                        }

                        if (attempt == 100)
                        {
                            throw new XmppTestServerException("Could not find a free TCP port on 127.0.0.1.");
                        }
                    }
                }
            }

            return ports;
        }
        finally
        {
            foreach (var socket in sockets)
            {
                socket.Dispose();
            }
        }
    }
}
