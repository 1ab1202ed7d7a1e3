using Parley.Web;

await using var app = GatewayApp.Create(args);
try
{
    await app.RunAsync();
    return 0;
}
catch (Exception e) when (e is not OperationCanceledException)
{
    // The host has already logged why it could not start (invalid settings, a port another program holds). Exit 1 like
    // any failed command: left unhandled, the exception would abort the runtime (exit 134, a core dump under systemd).
    return 1;
}
