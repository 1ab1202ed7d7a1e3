global using Parley.Xmpp;
global using Parley.Xmpp.Core;
global using Parley.Xmpp.Stanzas;
global using Parley.Xmpp.Xml;
