namespace Parley.Xmpp.Muc;

/// <summary>Group chat on a client: <c>client.Rooms.JoinAsync(room, nick)</c>.</summary>
public static class MucClientExtensions
{
    extension(XmppClient client)
    {
        /// <summary>
        /// Group chat (XEP-0045) for this client: made on first use, which also announces group chat and direct invitations
        /// in disco#info. Use it before connecting to announce them from the first presence on.
        /// </summary>
        /// <exception cref="ArgumentNullException"><c>client</c> is <see langword="null"/>.</exception>
        public RoomManager Rooms
        {
            get
            {
                ArgumentNullException.ThrowIfNull(client);
                return RoomManager.For(client);
            }
        }
    }
}
