namespace Parley.Xmpp;

/// <summary>
/// A protocol extension: registers IQ handlers, message/presence handlers and disco features on an endpoint.
/// Whatever it registers is what the endpoint announces in disco#info and entity capabilities.
/// </summary>
public interface IXmppExtension
{
    /// <summary>Called once, when the extension is added, before the endpoint connects or while connected.</summary>
    /// <param name="endpoint">The client or component.</param>
    void Attach(XmppEndpoint endpoint);
}
