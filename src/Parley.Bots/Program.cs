using Microsoft.Extensions.Hosting;
using Parley.Bots.Hosting;

var builder = Host.CreateApplicationBuilder(args);
builder.AddBotHostOperations();
builder.Services.AddParleyBots(builder.Configuration);
await builder.Build().RunAsync().ConfigureAwait(false);
