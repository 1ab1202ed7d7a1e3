using Parley.Xmpp.Core;
using Parley.Xmpp.Muc;
using Parley.Xmpp.Stanzas;

namespace Parley.Bots.Reports;

/// <summary>
/// The report bot in a room: it says in the room that it fetches the report (and, addressed to the asker, when there is
/// none or the source fails), and sends the file only to the asker — privately to the asker's full JID when the room
/// shows real JIDs, else as a link in the room when <see cref="LinksInRooms"/> allows, else not at all ("ask me in a
/// private chat").
/// </summary>
public sealed partial class ReportBot
{
    private const string Command = "report";
    private HttpUploadReportDelivery? _roomLinks;

    /// <summary>What the bot says when a room hides who asked and links in rooms are off.</summary>
    public const string AskPrivately = "ask me in a private chat: this room does not show me who you are, and a report goes only to the one who asked.";

    /// <summary>
    /// Whether, in a room that hides real JIDs, the report is posted in the room as an HTTP-upload link (everyone in the
    /// room can open it). Default false: the asker is told to ask in a private chat.
    /// </summary>
    public bool LinksInRooms { get; init; }

    /// <inheritdoc />
    public override async ValueTask OnRoomRequestAsync(RoomRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var text = request.Text;
        var named = text.Equals(Command, StringComparison.OrdinalIgnoreCase) || text.StartsWith(Command + " ", StringComparison.OrdinalIgnoreCase);
        if (!request.IsMention && !named)
        {
            return; // another bot's command
        }

        var project = named ? text[Command.Length..].Trim() : text;
        if (project.Equals("help", StringComparison.OrdinalIgnoreCase) || project is "?" or "")
        {
            await Context.SayInRoomAsync(request.Room, $"{request.Nick}: {RoomHelp(request.Room.Nick)}", cancellationToken).ConfigureAwait(false);
            return;
        }

        if (!IsProjectNumber(project))
        {
            await Context.SayInRoomAsync(request.Room, $"{request.Nick}: '{Shorten(project)}' is not a project number.", cancellationToken).ConfigureAwait(false);
            return;
        }

        if (request.RealJid is { IsBare: false } realJid)
        {
            // The file and what concerns its delivery go to the asker's own client, as if asked in a private chat; one
            // request at a time per person, whether asked here or there.
            if (await StartInRoomAsync(request, realJid.Bare, cancellationToken).ConfigureAwait(false))
            {
                var asMessage = new Message { From = realJid, Type = MessageType.Chat, Body = $"report {project}" };
                Track(Task.Run(() => ServeAsync(asMessage, realJid.Bare, project, Context.Stopping, new RoomAsker(request.Room, request.Nick, LinkInRoom: false)), CancellationToken.None));
            }

            return;
        }

        if (!LinksInRooms)
        {
            await Context.SayInRoomAsync(request.Room, $"{request.Nick}: {AskPrivately}", cancellationToken).ConfigureAwait(false);
            return;
        }

        // Who asked is unknown beyond the occupant: the one request at a time is per occupant.
        var occupant = request.Room.Jid.WithResource(request.Nick);
        if (await StartInRoomAsync(request, occupant, cancellationToken).ConfigureAwait(false))
        {
            var inRoom = new Message { From = request.Room.Jid, Type = MessageType.GroupChat, Body = $"report {project}" };
            Track(Task.Run(() => ServeAsync(inRoom, occupant, project, Context.Stopping, new RoomAsker(request.Room, request.Nick, LinkInRoom: true)), CancellationToken.None));
        }
    }

    /// <summary>The help in a room, where a bare number is not addressed to the bot: how to ask there.</summary>
    /// <param name="nick">The bot's nickname in the room.</param>
    public static string RoomHelp(string nick) => $"say \"{nick}: 1234\" with a project number and I send you that project's status report.";

    /// <summary>One request per asker at a time, as in a private chat; a second one is told to wait.</summary>
    private async Task<bool> StartInRoomAsync(RoomRequest request, Jid user, CancellationToken cancellationToken)
    {
        if (TryTakeUser(user) is null)
        {
            return true;
        }

        await Context.SayInRoomAsync(request.Room, $"{request.Nick}: I am still working on your previous request; one moment please.", cancellationToken).ConfigureAwait(false);
        return false;
    }

    /// <summary>
    /// Says something about a request that is not the delivery itself (no report, the source failed): in the room,
    /// addressed to the asker, when it was asked in a room, since the room saw "Fetching…"; else in the private chat.
    /// </summary>
    private Task SayAsync(Message request, RoomAsker? room, string text, CancellationToken cancellationToken) => room is null
        ? Context.ReplyAsync(request, text, cancellationToken)
        : Context.SayInRoomAsync(room.Room, $"{room.Nick}: {text}", cancellationToken);

    /// <summary>A request asked in a room: where the status goes, and whether the file goes to the room as a link.</summary>
    /// <param name="Room">The room.</param>
    /// <param name="Nick">The asker's nickname.</param>
    /// <param name="LinkInRoom">Whether the report is posted in the room as a link (a room that hides real JIDs, <see cref="LinksInRooms"/> on).</param>
    private sealed record RoomAsker(Room Room, string Nick, bool LinkInRoom);
}
