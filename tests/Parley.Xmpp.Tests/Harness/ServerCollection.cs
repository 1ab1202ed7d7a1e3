using Parley.Testing;

namespace Parley.Xmpp.Tests.Harness;

/// <summary>
/// The shared Prosody and ejabberd of this test assembly (xunit only picks up collection definitions
/// from the test assembly itself). Server tests join with <c>[Collection(ServerFixture.CollectionName)]</c>.
/// </summary>
[CollectionDefinition(ServerFixture.CollectionName)]
public sealed class ServerCollection : ICollectionFixture<ServerFixture>;
