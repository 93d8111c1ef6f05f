namespace MergeBuild.Methods;

/// <summary>The merge methods this engine can execute, by recipe name.</summary>
public static class MergeMethods
{
    private static readonly Dictionary<string, IMergeMethod> Implemented = new IMergeMethod[]
    {
        new LinearMethod(),
        new PassthroughMethod(),
        new Misc.SceMethod(),
        new Misc.RamMethod(),
        new Misc.RamPlusTensorLocalMethod(),
        new Misc.ArceeFusionMethod(),
    }.ToDictionary(m => m.Name, StringComparer.Ordinal);

    /// <summary>Names of the methods that can run.</summary>
    public static IEnumerable<string> Names => Implemented.Keys;

    public static bool TryGet(string name, out IMergeMethod method) => Implemented.TryGetValue(name, out method!);
}
