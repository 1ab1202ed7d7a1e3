using Parley.Testing;

namespace Parley.Bots.Tests;

/// <summary>The shared Prosody and ejabberd of this test assembly.</summary>
[CollectionDefinition(ServerFixture.CollectionName)]
public sealed class ServerCollection : ICollectionFixture<ServerFixture>;
