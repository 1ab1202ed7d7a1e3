using Parley.Testing;

namespace Parley.Xmpp.FileTransfer.Tests.Harness;

/// <summary>The shared Prosody and ejabberd of this test assembly (xunit only picks up collection definitions from the test assembly itself).</summary>
[CollectionDefinition(ServerFixture.CollectionName)]
public sealed class ServerCollection : ICollectionFixture<ServerFixture>;
