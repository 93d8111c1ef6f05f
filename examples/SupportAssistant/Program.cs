// The merged model is copied next to the app (models/support-assistant/) by the build.
var folder = Path.Combine(AppContext.BaseDirectory, "models", "support-assistant");
if (!Directory.Exists(folder))
{
    Console.Error.WriteLine($"No merged model at {folder}: build the project first.");
    return 1;
}

Console.WriteLine($"Merged model: {folder}");
foreach (var file in Directory.GetFiles(folder).Order())
{
    Console.WriteLine($"  {Path.GetFileName(file),-28} {new FileInfo(file).Length,12:N0} bytes");
}

return 0;
