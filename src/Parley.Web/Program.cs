using Parley.Web;

await using var app = GatewayApp.Create(args);
await app.RunAsync();
