using Microsoft.Extensions.DependencyInjection;
using Parley.Web.Configuration;
using Parley.Web.Storage;

namespace Parley.Web.Tests;

/// <summary>The database settings are checked at start-up like every other setting.</summary>
public sealed class DatabaseOptionsTests
{
    private static GatewayOptions Valid(string provider, string connectionString = "") => new()
    {
        Owner = "owner@example.org",
        Component = new GatewayOptions.ComponentSettings { Domain = "chat.example.org", Secret = "s" },
        Database = new GatewayOptions.DatabaseSettings { Provider = provider, ConnectionString = connectionString },
    };

    [Theory]
    [InlineData("Sqlite", "")]
    [InlineData("sqlite", "")]
    [InlineData("", "")]
    [InlineData("PostgreSQL", "Host=127.0.0.1;Database=parley;Username=parley")]
    [InlineData("postgresql", "Host=db.internal;Port=5433;Database=parley;Username=parley;Password=x")]
    public void Known_providers_with_what_they_need_are_accepted(string provider, string connectionString)
        => Assert.True(new GatewayOptionsValidator().Validate(null, Valid(provider, connectionString)).Succeeded);

    [Theory]
    [InlineData("MySQL", "", "Database:Provider must be Sqlite or PostgreSQL")]
    [InlineData("PostgreSQL", "", "Database:ConnectionString is required")]
    [InlineData("PostgreSQL", "Database=parley", "must name a Host")]
    [InlineData("PostgreSQL", "Hots=127.0.0.1", "not a valid connection string")]
    public void Bad_database_settings_are_reported(string provider, string connectionString, string expected)
    {
        var result = new GatewayOptionsValidator().Validate(null, Valid(provider, connectionString));
        Assert.True(result.Failed);
        Assert.Contains(result.Failures!, f => f.Contains(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void A_connection_string_password_is_never_quoted_in_errors()
    {
        var result = new GatewayOptionsValidator().Validate(null, Valid("PostgreSQL", "Host=h;Password=hunter2;Bogus=1"));
        Assert.True(result.Failed);
        Assert.DoesNotContain(result.Failures!, f => f.Contains("hunter2", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_provider_setting_picks_the_store()
    {
        await using var sqlite = GatewayApp.Create(["--Parley:Owner=o@example.org", "--Parley:Component:Domain=c.example.org", "--Parley:Component:Secret=s", "--Parley:Files:Enabled=false"]);
        Assert.IsType<SqliteDatabase>(sqlite.Services.GetRequiredService<StoreDatabase>());
        Assert.IsType<SqliteChangeFeed>(sqlite.Services.GetRequiredService<IChangeFeed>());
        Assert.IsType<Outbox>(sqlite.Services.GetRequiredService<Outbox>());
        await using var postgres = GatewayApp.Create(["--Parley:Owner=o@example.org", "--Parley:Component:Domain=c.example.org", "--Parley:Component:Secret=s", "--Parley:Files:Enabled=false",
            "--Parley:Database:Provider=PostgreSQL", "--Parley:Database:ConnectionString=Host=127.0.0.1;Database=x"]);
        Assert.IsType<PostgresDatabase>(postgres.Services.GetRequiredService<StoreDatabase>());
        Assert.IsType<PostgresChangeFeed>(postgres.Services.GetRequiredService<IChangeFeed>());
        Assert.IsType<PostgresOutbox>(postgres.Services.GetRequiredService<Outbox>());
    }
}
