using MergeBuild.Methods;
using MergeBuild.Planning;
using MergeBuild.Recipes;
using MergeBuild.Tensors;

namespace MergeBuild.Gpu.Methods;

/// <summary>
/// A merge method whose chunks run as a GPU kernel. Everything but the arithmetic (dtype defaults, the name) is the
/// CPU method's, and the kernel performs the CPU method's exact operation sequence, so the output bytes are the same.
/// </summary>
internal abstract class GpuMethod(IMergeMethod cpu, GpuEngine engine) : IMergeMethod
{
    public string Name => cpu.Name;

    /// <summary>Every kernel here is element-wise, so chunks stream and run in any order.</summary>
    public bool IsElementwise => true;

    /// <summary>The CPU implementation this kernel reproduces.</summary>
    public IMergeMethod Cpu => cpu;

    protected GpuEngine Engine => engine;

    public DType DefaultComputeDType(IReadOnlyList<DType> inputDTypes, DType? baseDType) =>
        cpu.DefaultComputeDType(inputDTypes, baseDType);

    public DType DefaultOutputDType(DType computeDType) => cpu.DefaultOutputDType(computeDType);

    public abstract void Merge(TensorJob job, MergeBuffers buffers, MergeChunk chunk);

    /// <summary>A global parameter, or the method catalog's default when the planner left it out.</summary>
    protected double Global(TensorJob job, string name) =>
        job.Parameters.TryGetValue(name, out var value) ? value : Default(name);

    /// <summary>A per-model parameter, or the catalog's default.</summary>
    protected double PerModel(TensorJob job, int model, string name) =>
        job.Inputs[model].OptionalParameter(name) ?? Default(name);

    private double Default(string name) =>
        (MergeMethodCatalog.TryGet(Name, out var spec) ? spec.FindParameter(name)?.Default : null)
        ?? throw new InvalidOperationException($"{Name} has no value for the parameter '{name}'.");
}
