using MergeBuild.Methods.Geometric;
using MergeBuild.Methods.Misc;

namespace MergeBuild.Methods;

/// <summary>The merge methods this engine can execute, by recipe name (every method mergekit 0.1.4 registers).</summary>
public static class MergeMethods
{
    private static readonly Dictionary<string, IMergeMethod> Implemented = new IMergeMethod[]
    {
        new LinearMethod(),
        new TaskArithmeticMethod(),
        new TiesMethod(),
        new DareTiesMethod(),
        new DareLinearMethod(),
        new BreadcrumbsMethod(),
        new BreadcrumbsTiesMethod(),
        new DellaMethod(),
        new DellaLinearMethod(),
        new SceMethod(),
        new RamMethod(),
        new RamPlusTensorLocalMethod(),
        new SlerpMethod(),
        new NuslerpMethod(),
        new MultislerpMethod(),
        new KarcherMethod(),
        new ModelStockMethod(),
        new NearswapMethod(),
        new ArceeFusionMethod(),
        new PassthroughMethod(),
    }.ToDictionary(m => m.Name, StringComparer.Ordinal);

    /// <summary>Names of the methods that can run.</summary>
    public static IEnumerable<string> Names => Implemented.Keys;

    public static bool TryGet(string name, out IMergeMethod method) => Implemented.TryGetValue(name, out method!);
}
