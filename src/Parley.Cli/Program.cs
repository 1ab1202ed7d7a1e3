using Parley.Cli;

var console = new CliConsole(Console.Out, Console.Error, Console.In, ErrorIsTerminal: !Console.IsErrorRedirected, Environment.GetEnvironmentVariable);
return await CliApp.RunAsync(args, console);
