using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Options;
using Parley.Web.Api;
using Parley.Web.Auth;
using Parley.Web.Chat;
using Parley.Web.Configuration;
using Parley.Web.Diagnostics;
using Parley.Web.Storage;
using Parley.Web.Xmpp;

namespace Parley.Web;

/// <summary>Builds the gateway: services, options validated at start-up, the middleware pipeline and the endpoints.</summary>
internal static class GatewayApp
{
    /// <summary>Creates the web application from command-line arguments (<c>--urls</c>, <c>--Parley:Owner=…</c>) and the usual configuration sources.</summary>
    /// <param name="args">The command-line arguments.</param>
    /// <param name="time">
    /// The gateway's clock (store timestamps, the automatic reply's period, presence linger, tokens, retry delays):
    /// <see cref="TimeProvider.System"/> unless given, e.g. a test's fake clock.
    /// </param>
    /// <exception cref="OptionsValidationException">The <c>Parley</c> settings are invalid (thrown when the app starts).</exception>
    public static WebApplication Create(string[] args, TimeProvider? time = null)
    {
        // appsettings.json ships next to the binary; the working directory is wherever the service was started.
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
        builder.WebHost.ConfigureKestrel(static kestrel => kestrel.AddServerHeader = false);
        if (!HasListenAddress(builder.Configuration))
        {
            // Loopback by default (a reverse proxy terminates TLS). Set in code, not in appsettings.json, so that
            // ASPNETCORE_URLS, --urls, HTTP_PORTS and Kestrel:Endpoints all still win.
            builder.WebHost.UseUrls(DefaultUrl);
        }

        builder.AddGatewayOperations();
        builder.Services.AddGateway(builder.Configuration, time ?? TimeProvider.System);
        var app = builder.Build();
        app.UseGateway();
        return app;
    }

    private static void AllowFraming(CookieBuilder cookie, GatewayOptions.WidgetSettings widget)
    {
        if (widget.AllowedOrigins.Count == 0)
        {
            return;
        }

        cookie.SameSite = SameSiteMode.None;
        cookie.SecurePolicy = CookieSecurePolicy.Always;
        cookie.Extensions.Add("Partitioned");
    }

    /// <summary>Where Kestrel listens when nothing else says so.</summary>
    public const string DefaultUrl = "http://127.0.0.1:5080";

    private static bool HasListenAddress(IConfiguration configuration)
        => !string.IsNullOrEmpty(configuration[WebHostDefaults.ServerUrlsKey])
            || !string.IsNullOrEmpty(configuration[WebHostDefaults.HttpPortsKey])
            || !string.IsNullOrEmpty(configuration[WebHostDefaults.HttpsPortsKey])
            || configuration.GetSection("Kestrel:Endpoints").Exists();

    private static void AddGateway(this IServiceCollection services, IConfiguration configuration, TimeProvider time)
    {
        services.AddOptions<GatewayOptions>().Bind(configuration.GetSection(GatewayOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<GatewayOptions>, GatewayOptionsValidator>();
        services.AddPublicAddress(configuration);
        services.AddSingleton(time);
        services.AddSingleton<GatewayMetrics>();
        services.AddSingleton(static sp =>
        {
            // The metric of active visitors follows the hub's first-tab-opened / last-tab-closed events, which balance.
            var hub = new ChatHub();
            var metrics = sp.GetRequiredService<GatewayMetrics>();
            hub.VisitorOnline += _ => metrics.VisitorActive();
            hub.VisitorOffline += _ => metrics.VisitorInactive();
            return hub;
        });
        services.AddSingleton<StreamKeepAlive>();
        services.AddStore(configuration);
        services.AddXmppSide();
        services.AddSingleton<VisitorSignIn>();
        services.AddSingleton<OfflineAutoReply>();
        services.AddSingleton<EmbedTokens>();
        services.AddSingleton<FrameTickets>();

        services.AddDataProtection().SetApplicationName("Parley.Web");
        services.AddOptions<KeyManagementOptions>().Configure<IOptions<GatewayOptions>, ILoggerFactory, StoreDatabase>(static (keys, gateway, loggers, database) =>
            keys.XmlRepository = gateway.Value.DataProtectionKeysPath.Length == 0 && database is PostgresDatabase postgres
                ? new PostgresXmlRepository(postgres.DataSource)
                : new FileSystemXmlRepository(Directory.CreateDirectory(gateway.Value.KeysDirectory), loggers));
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
            options.CookieManager = new AuthCookieReader();
            options.Events.OnValidatePrincipal = VisitorIdentity.ValidateSessionAsync;
            options.Events.OnSignedIn = static context =>
            {
                context.HttpContext.RequestServices.GetRequiredService<GatewayMetrics>().SignedIn(SignInMethod(context.Principal));
                return Task.CompletedTask;
            };
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
        services.AddOptions<CookieAuthenticationOptions>(CookieAuthenticationDefaults.AuthenticationScheme)
            .Configure<IDataProtectionProvider>(static (options, protection) =>
                options.TicketDataFormat = new SessionReferenceFormat(protection, CookieAuthenticationDefaults.AuthenticationScheme));
        services.AddExternalSignIn(configuration);
        services.AddAuthorization();

        // Framed on another site (the widget), the chat's own cookies are third-party cookies there. Only when sites are
        // listed: SameSite=None so the frame gets them at all, Secure (required with None), and Partitioned (CHIPS) so the
        // browser keeps a separate jar per embedding site and nobody can follow a visitor from site to site with them.
        // Forged requests stay refused by the anti-forgery token every state-changing request needs.
        services.AddOptions<CookieAuthenticationOptions>(CookieAuthenticationDefaults.AuthenticationScheme)
            .PostConfigure<IOptions<GatewayOptions>>(static (cookie, gateway) => AllowFraming(cookie.Cookie, gateway.Value.Widget));
        services.AddOptions<AntiforgeryOptions>()
            .PostConfigure<IOptions<GatewayOptions>>(static (antiforgery, gateway) => AllowFraming(antiforgery.Cookie, gateway.Value.Widget));
        services.AddAntiforgery(options =>
        {
            options.HeaderName = "X-CSRF-TOKEN";
            options.Cookie.Name = "parley.csrf";
            options.Cookie.SameSite = SameSiteMode.Strict;
            options.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
        });
        services.AddHealthChecks()
            .AddCheck<ComponentHealthCheck>("xmpp")
            .AddCheck<DatabaseHealthCheck>("database");
        services.ConfigureHttpJsonOptions(ConfigureRequestJson);
    }

    /// <summary>The JSON options request bodies are read with (on top of the web defaults).</summary>
    internal static void ConfigureRequestJson(Microsoft.AspNetCore.Http.Json.JsonOptions options)
        => options.SerializerOptions.MaxDepth = 8;

    private static void UseGateway(this WebApplication app)
    {
        // One registration ends every open event stream when the app stops, instead of one per stream; the one
        // keep-alive timer of all streams runs from the start (it wakes them through the hub).
        var hub = app.Services.GetRequiredService<ChatHub>();
        app.Lifetime.ApplicationStopping.Register(hub.DisconnectAll);
        _ = app.Services.GetRequiredService<StreamKeepAlive>();

        // Read raw: resolving the options here would validate them before start-up reports the problems.
        if (app.Configuration.GetValue<bool>($"{GatewayOptions.Section}:{nameof(GatewayOptions.TrustForwardedHeaders)}"))
        {
            app.UseForwardedHeaders();
        }

        if (!app.Environment.IsDevelopment())
        {
            app.UseHsts();
        }

        app.UseExceptionHandler(new ExceptionHandlerOptions { ExceptionHandler = StoreFailureResponse.WriteAsync });
        app.UseSecurityHeaders();
        var files = new EmbeddedFileProvider(typeof(GatewayApp).Assembly, "Parley.Web.wwwroot");
        app.UseFramePage(files);
        app.UseDefaultFiles(new DefaultFilesOptions { FileProvider = files });
        app.UseStaticFiles(new StaticFileOptions
        {
            FileProvider = files,
            OnPrepareResponse = static context => context.Context.Response.Headers.CacheControl = "no-cache",
        });
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseRequestLimits();
        app.MapChatApi();
        app.MapExternalSignIn();
        app.MapHealthChecks("/healthz", new HealthCheckOptions
        {
            // Degraded (the XMPP link is briefly down, visitors' messages wait in the outbox) still serves traffic.
            ResultStatusCodes =
            {
                [HealthStatus.Healthy] = StatusCodes.Status200OK,
                [HealthStatus.Degraded] = StatusCodes.Status200OK,
                [HealthStatus.Unhealthy] = StatusCodes.Status503ServiceUnavailable,
            },
            ResponseWriter = WriteHealthAsync,
        });
    }

    // Bounded tag values: a provider's issuer would make one time series per configured provider, which is fine,
    // but an embedding site's user ids must never become tags.
    private static string SignInMethod(System.Security.Claims.ClaimsPrincipal? user)
        => user?.FindFirst(VisitorIdentity.IssuerClaim)?.Value switch
        {
            VisitorIdentity.GuestIssuer => "guest",
            { } issuer when issuer.StartsWith("embed:", StringComparison.Ordinal) => "embed",
            null => "unknown",
            _ => "provider",
        };

    /// <summary>Writes <c>{"status":"Degraded","checks":{"xmpp":{"status":…,"description":…},…}}</c>; no exception details leave the host.</summary>
    private static Task WriteHealthAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json; charset=utf-8";
        context.Response.Headers.CacheControl = "no-store";
        var checks = report.Entries.ToDictionary(
            static entry => entry.Key,
            static entry => new HealthEntryDto(entry.Value.Status.ToString(), entry.Value.Description));
        return context.Response.WriteAsJsonAsync(new HealthDto(report.Status.ToString(), checks), context.RequestAborted);
    }

    private sealed record HealthDto(string Status, Dictionary<string, HealthEntryDto> Checks);

    private sealed record HealthEntryDto(string Status, string? Description);

    /// <summary>A database that is down or full answers 503 with a clear message (nothing was stored), not a bare 500.</summary>
    private static class StoreFailureResponse
    {
        public static Task WriteAsync(HttpContext context)
        {
            var error = context.Features.Get<Microsoft.AspNetCore.Diagnostics.IExceptionHandlerFeature>()?.Error;
            if (error is BadHttpRequestException badRequest)
            {
                // Kestrel's own verdicts keep their status: a body over the limit is 413, a malformed request 400.
                context.Response.StatusCode = badRequest.StatusCode;
                return Task.CompletedTask;
            }

            if (error is not ChatStoreException storeError)
            {
                context.Response.StatusCode = StatusCodes.Status500InternalServerError;
                return Task.CompletedTask;
            }

            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            context.Response.Headers.RetryAfter = storeError.Failure == StoreFailure.Full ? "300" : "5";
            return Results.Problem(
                statusCode: StatusCodes.Status503ServiceUnavailable,
                title: storeError.Failure == StoreFailure.Full ? "The chat database is full." : "The chat database is unavailable.",
                detail: "Nothing was stored; please try again shortly. Messages accepted earlier are kept.").ExecuteAsync(context);
        }
    }

    private sealed class ComponentHealthCheck(LinkSupervisor gateway, IOptions<GatewayOptions> options, TimeProvider time) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            if (gateway.DisconnectedSince is not { } since)
            {
                return Task.FromResult(HealthCheckResult.Healthy($"XMPP link ({gateway.LinkName}) connected."));
            }

            var down = time.GetUtcNow() - since;
            var description = $"XMPP link ({gateway.LinkName}) not connected for {down.TotalSeconds:0} s; visitors' messages wait in the outbox.";
            return Task.FromResult(down < options.Value.XmppDownUnhealthyAfter
                ? HealthCheckResult.Degraded(description)
                : HealthCheckResult.Unhealthy(description));
        }
    }

    private sealed class DatabaseHealthCheck(VisitorRepository visitors) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            try
            {
                // A primary-key lookup that finds nothing: one real round trip to the database, no writes.
                await visitors.FindAsync("healthz", cancellationToken);
                return HealthCheckResult.Healthy("Database answers.");
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                // The reason stays in the log (the health service logs failed checks); the response says only what failed.
                return HealthCheckResult.Unhealthy("Database does not answer.", ex);
            }
        }
    }
}
