using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Options;
using Parley.Web.Api;
using Parley.Web.Chat;
using Parley.Web.Storage;
using Parley.Web.Xmpp;

namespace Parley.Web;

/// <summary>Builds the gateway: services, options validated at start-up, the middleware pipeline and the endpoints.</summary>
internal static class GatewayApp
{
    /// <summary>Creates the web application from command-line arguments (<c>--urls</c>, <c>--Parley:Owner=…</c>) and the usual configuration sources.</summary>
    /// <exception cref="OptionsValidationException">The <c>Parley</c> settings are invalid (thrown when the app starts).</exception>
    public static WebApplication Create(string[] args)
    {
        // appsettings.json ships next to the binary; the working directory is wherever the service was started.
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
        builder.WebHost.ConfigureKestrel(static kestrel => kestrel.AddServerHeader = false);
        builder.Services.AddGateway(builder.Configuration);
        var app = builder.Build();
        app.UseGateway();
        return app;
    }

    private static void AddGateway(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<GatewayOptions>().Bind(configuration.GetSection(GatewayOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<GatewayOptions>, GatewayOptionsValidator>();
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<ChatHub>();
        services.AddSingleton<ChatStore>();
        services.AddSingleton<OwnerPresence>();
        services.AddSingleton<VisitorGateway>();
        services.AddSingleton<OfflineAutoReply>();
        services.AddSingleton<EmbedTokens>();

        // Order matters: the schema exists before the component starts sending from the outbox.
        services.AddHostedService<StoreInitializer>();
        services.AddHostedService(static sp => sp.GetRequiredService<VisitorGateway>());

        services.AddDataProtection().SetApplicationName("Parley.Web");
        services.AddOptions<KeyManagementOptions>().Configure<IOptions<GatewayOptions>, ILoggerFactory>(static (keys, gateway, loggers) =>
            keys.XmlRepository = new FileSystemXmlRepository(Directory.CreateDirectory(gateway.Value.KeysDirectory), loggers));
        services.Configure<ForwardedHeadersOptions>(static options =>
        {
            // Only the default known proxies (loopback) are believed.
            options.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto;
            options.ForwardLimit = 1;
        });

        services.AddAuthentication(CookieAuthenticationDefaults.AuthenticationScheme).AddCookie(options =>
        {
            options.Cookie.Name = "parley.visitor";
            options.Cookie.HttpOnly = true;
            options.Cookie.SameSite = SameSiteMode.Lax;
            options.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            options.ExpireTimeSpan = TimeSpan.FromDays(30);
            options.SlidingExpiration = true;
            options.Events.OnValidatePrincipal = VisitorIdentity.ValidateSessionAsync;
            options.Events.OnRedirectToLogin = static context =>
            {
                context.Response.StatusCode = StatusCodes.Status401Unauthorized;
                return Task.CompletedTask;
            };
            options.Events.OnRedirectToAccessDenied = static context =>
            {
                context.Response.StatusCode = StatusCodes.Status403Forbidden;
                return Task.CompletedTask;
            };
        });
        services.AddAuthorization();
        services.AddAntiforgery(options =>
        {
            options.HeaderName = "X-CSRF-TOKEN";
            options.Cookie.Name = "parley.csrf";
            options.Cookie.SameSite = SameSiteMode.Strict;
            options.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
        });
        services.AddRateLimiter(options =>
        {
            options.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            options.AddPolicy(ChatApi.GuestPolicy, static context => RateLimitPartition.GetFixedWindowLimiter(
                context.Connection.RemoteIpAddress?.ToString() ?? "",
                _ => new FixedWindowRateLimiterOptions
                {
                    PermitLimit = context.RequestServices.GetRequiredService<IOptions<GatewayOptions>>().Value.Guests.PerMinute,
                    Window = TimeSpan.FromMinutes(1),
                }));
            options.AddPolicy(ChatApi.SendPolicy, static context => RateLimitPartition.GetFixedWindowLimiter(
                context.User.VisitorId() ?? "",
                _ => new FixedWindowRateLimiterOptions
                {
                    PermitLimit = context.RequestServices.GetRequiredService<IOptions<GatewayOptions>>().Value.MessagesPerMinute,
                    Window = TimeSpan.FromMinutes(1),
                }));
        });
        services.AddHealthChecks().AddCheck<ComponentHealthCheck>("xmpp");
        services.ConfigureHttpJsonOptions(static options => options.SerializerOptions.MaxDepth = 8);
    }

    private static void UseGateway(this WebApplication app)
    {
        // Read raw: resolving the options here would validate them before start-up reports the problems.
        if (app.Configuration.GetValue<bool>($"{GatewayOptions.Section}:{nameof(GatewayOptions.TrustForwardedHeaders)}"))
        {
            app.UseForwardedHeaders();
        }

        if (!app.Environment.IsDevelopment())
        {
            app.UseHsts();
        }

        app.UseSecurityHeaders();
        var files = new EmbeddedFileProvider(typeof(GatewayApp).Assembly, "Parley.Web.wwwroot");
        app.UseDefaultFiles(new DefaultFilesOptions { FileProvider = files });
        app.UseStaticFiles(new StaticFileOptions
        {
            FileProvider = files,
            OnPrepareResponse = static context => context.Context.Response.Headers.CacheControl = "no-cache",
        });
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseRateLimiter();
        app.MapChatApi();
        app.MapHealthChecks("/healthz");
    }

    private sealed class StoreInitializer(ChatStore store) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => store.InitializeAsync(cancellationToken);

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }

    private sealed class ComponentHealthCheck(VisitorGateway gateway) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
            => Task.FromResult(gateway.IsConnected
                ? HealthCheckResult.Healthy($"Component {gateway.Domain} connected.")
                : HealthCheckResult.Degraded($"Component {gateway.Domain} not connected; visitors' messages wait in the outbox."));
    }
}
