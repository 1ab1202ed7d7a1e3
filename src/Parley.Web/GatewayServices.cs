using Microsoft.Extensions.Options;
using Parley.Web.Chat;
using Parley.Web.Configuration;
using Parley.Web.Storage;
using Parley.Web.Xmpp;

namespace Parley.Web;

/// <summary>
/// The store and the XMPP side as services, and the wiring between the folders that must not know each other: the
/// hub listens to the store's change feed, and the tabs the hub sees drive the visitors' presence on XMPP, whose
/// owner's presence and typing go back to the hub.
/// </summary>
internal static class GatewayServices
{
    /// <summary>The database of <c>Parley:Database:Provider</c>, its change feed, the migrator (run at start), the repositories and the purge of expired limits.</summary>
    public static void AddStore(this IServiceCollection services, IConfiguration configuration)
    {
        // Hosted services start in order: the schema exists before changes are listened for and before the outbox is sent.
        services.AddHostedService<StoreInitializer>();

        // Read raw (like TrustForwardedHeaders in GatewayApp): which services exist depends on it; the validator reports a bad value.
        if (GatewayOptions.DatabaseSettings.IsPostgres(configuration[$"{GatewayOptions.Section}:Database:Provider"]))
        {
            services.AddSingleton<StoreDatabase>(static sp => new PostgresDatabase(
                sp.GetRequiredService<IOptions<GatewayOptions>>().Value.Database.ConnectionString, sp.GetRequiredService<TimeProvider>()));
            services.AddSingleton(static sp => (PostgresDatabase)sp.GetRequiredService<StoreDatabase>());
            services.AddSingleton(static sp => Listened(ActivatorUtilities.CreateInstance<PostgresChangeFeed>(sp), sp));
            services.AddSingleton<IChangeFeed>(static sp => sp.GetRequiredService<PostgresChangeFeed>());
            services.AddHostedService(static sp => sp.GetRequiredService<PostgresChangeFeed>());
            services.AddSingleton<Outbox, PostgresOutbox>();
        }
        else
        {
            services.AddSingleton<StoreDatabase>(static sp => new SqliteDatabase(
                sp.GetRequiredService<IOptions<GatewayOptions>>().Value.DatabasePath, sp.GetRequiredService<TimeProvider>()));
            services.AddSingleton<IChangeFeed>(static sp => Listened(new SqliteChangeFeed(), sp));
            services.AddSingleton<Outbox>();
        }

        services.AddSingleton<StoreMigrator>();
        services.AddSingleton<VisitorRepository>();
        services.AddSingleton<SessionRepository>();
        services.AddSingleton<AccountRepository>();
        services.AddSingleton<MessageRepository>();
        services.AddSingleton<LimitRepository>();
        services.AddHostedService<LimitPurge>();
        services.AddSingleton<OwnerControlRepository>();
    }

    /// <summary>The visitors' link of <c>Parley:Mode</c> and the three parts that use it, run by the <see cref="LinkSupervisor"/>.</summary>
    public static void AddXmppSide(this IServiceCollection services)
    {
        // Resolved when the gateway starts, after the options were validated.
        services.AddSingleton<VisitorLink>(static sp =>
            sp.GetRequiredService<IOptions<GatewayOptions>>().Value.Mode == GatewayMode.Account
                ? ActivatorUtilities.CreateInstance<AccountLink>(sp)
                : ActivatorUtilities.CreateInstance<ComponentLink>(sp));
        services.AddSingleton(static sp => new OwnerPresence(sp.GetRequiredService<IOptions<GatewayOptions>>().Value.SharesOwnerPresence));
        services.AddSingleton(static sp =>
        {
            var states = new OwnerChatStates();
            states.Changed += sp.GetRequiredService<ChatHub>().WakeForTyping;
            return states;
        });
        services.AddSingleton(static sp =>
        {
            var profile = ActivatorUtilities.CreateInstance<OwnerProfile>(sp);
            profile.Changed += sp.GetRequiredService<ChatHub>().PublishProfile;
            return profile;
        });
        services.AddSingleton<OwnerProfileReader>();
        services.AddSingleton(static sp =>
        {
            var hub = sp.GetRequiredService<ChatHub>();
            var presence = ActivatorUtilities.CreateInstance<PresenceTracker>(sp, (Func<string, bool>)hub.IsOnline);
            hub.VisitorOnline += presence.TabsOpened;
            hub.VisitorOffline += presence.TabsClosed;
            return presence;
        });
        services.AddSingleton(static sp =>
        {
            var inbox = ActivatorUtilities.CreateInstance<OwnerInbox>(sp);
            inbox.OwnerPresenceChanged += sp.GetRequiredService<ChatHub>().PublishPresence;
            return inbox;
        });
        services.AddSingleton<OutboxSender>();
        services.AddSingleton<LinkSupervisor>();
        services.AddSingleton(static sp =>
        {
            // A tab learns a block or an ended conversation when it reconnects: the stream reads the visitor's standing first.
            var commands = ActivatorUtilities.CreateInstance<OwnerCommands>(sp);
            commands.VisitorChanged += sp.GetRequiredService<ChatHub>().DisconnectVisitor;
            return commands;
        });

        // The inbox takes the link's stanzas, and the owner's commands are offered, before the supervisor first connects it.
        services.AddHostedService(static sp =>
        {
            sp.GetRequiredService<OwnerInbox>();
            sp.GetRequiredService<VisitorLink>().OfferCommands(sp.GetRequiredService<OwnerCommands>().Host);
            return sp.GetRequiredService<LinkSupervisor>();
        });
        services.AddHostedService(static sp => sp.GetRequiredService<OwnerProfileReader>());
    }

    private static T Listened<T>(T feed, IServiceProvider services)
        where T : IChangeFeed
    {
        feed.Subscribe(services.GetRequiredService<ChatHub>());
        return feed;
    }

    private sealed class StoreInitializer(StoreMigrator migrator) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => migrator.InitializeAsync(cancellationToken);

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
