using Microsoft.Extensions.Logging;

namespace Parley.Xmpp;

/// <summary>Raises the IM layer's events so that a subscriber's bug cannot break the library's own bookkeeping or an IQ answer.</summary>
internal static class EventInvoker
{
    public static void Raise<T>(EventHandler<T>? handler, object sender, T args, ILogger logger, string name)
    {
        if (handler is null)
        {
            return;
        }

        try
        {
            handler(sender, args);
        }
        catch (Exception ex)
        {
            Log.HandlerFailed(logger, name, ex);
        }
    }

    public static void Raise(EventHandler? handler, object sender, ILogger logger, string name)
    {
        if (handler is null)
        {
            return;
        }

        try
        {
            handler(sender, EventArgs.Empty);
        }
        catch (Exception ex)
        {
            Log.HandlerFailed(logger, name, ex);
        }
    }
}
