using Parley.Testing;

namespace Parley.Web.Tests;

/// <summary>The shared private Prosody (and ejabberd) of this test assembly; the gateway tests use Prosody.</summary>
[CollectionDefinition(ServerFixture.CollectionName)]
public sealed class ServerCollection : ICollectionFixture<ServerFixture>;
