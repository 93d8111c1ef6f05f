using MergeBuild.Cli;

return await new MergeBuildCli(Console.Out, Console.Error, interactive: !Console.IsOutputRedirected)
    .RunAsync(args).ConfigureAwait(false);
