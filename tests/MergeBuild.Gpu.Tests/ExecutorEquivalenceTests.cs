using MergeBuild.Execution;
using MergeBuild.Planning;
using MergeBuild.Recipes;
using MergeBuild.Tests;

namespace MergeBuild.Gpu.Tests;

/// <summary>
/// Whole merges of the fixture models through <see cref="MergeExecutor"/>, once on the CPU and once with the GPU
/// provider on ILGPU's CPU accelerator (and on CUDA where present): every output file must be byte-identical.
/// </summary>
public class ExecutorEquivalenceTests
{
    public static TheoryData<string> Recipes => new()
    {
        // bf16 compute (the fixtures' dtype), three weights that do not sum to 1.
        """
        merge_method: linear
        models:
          - model: {models}/shipping
            parameters: {weight: 0.3}
          - model: {models}/refunds
            parameters: {weight: 0.7}
          - model: {models}/catalog
            parameters: {weight: 0.55}
        """,
        """
        merge_method: linear
        models:
          - model: {models}/shipping
            parameters: {weight: 1.0}
          - model: {models}/refunds
            parameters: {weight: 2.0}
        dtype: float32
        out_dtype: bfloat16
        """,
        """
        merge_method: task_arithmetic
        base_model: {models}/base
        models:
          - model: {models}/shipping
            parameters: {weight: 0.5}
          - model: {models}/refunds
            parameters: {weight: 0.3}
          - model: {models}/catalog
            parameters: {weight: 0.9}
        parameters:
          lambda: 0.8
        """,
        """
        merge_method: nearswap
        base_model: {models}/base
        models:
          - model: {models}/shipping
        parameters:
          t: 0.001
        """,
        """
        merge_method: ram
        base_model: {models}/base
        models:
          - model: {models}/shipping
          - model: {models}/refunds
          - model: {models}/catalog
        dtype: float32
        """,
        """
        merge_method: passthrough
        models:
          - model: {models}/catalog
            parameters:
              scale:
                - filter: down_proj
                  value: 0.3
                - value: 1.0
        """,
    };

    [Theory]
    [MemberData(nameof(Recipes))]
    public void The_gpu_provider_writes_the_same_files_as_the_cpu(string yaml)
    {
        using var temp = new TempFolder();
        var plan = MergePlanner.Plan(RecipeParser.ParseFile(RecipeFiles.Write(temp, yaml)));
        var cpu = MergeExecutor.Execute(plan, temp.Combine("cpu"), new MergeOptions { Threads = 2 });
        foreach (var (engine, i) in Emulator.Engines.Select((e, i) => (e, i)))
        {
            var gpu = MergeExecutor.Execute(plan, temp.Combine($"gpu{i}"),
                new MergeOptions { Threads = 2, MethodProvider = new GpuMethodProvider(engine) });
            AssertSameFiles(cpu.OutputFolder, gpu.OutputFolder);
        }
    }

    [Fact]
    public void The_output_does_not_depend_on_the_launch_size_or_thread_count()
    {
        using var temp = new TempFolder();
        var plan = MergePlanner.Plan(RecipeParser.ParseFile(RecipeFiles.Write(temp, """
            merge_method: ram
            base_model: {models}/base
            models:
              - model: {models}/shipping
              - model: {models}/refunds
            """)));
        var cpu = MergeExecutor.Execute(plan, temp.Combine("cpu"),
            new MergeOptions { Threads = 1, ChunkElements = 4096, WindowElements = 8192 });
        var gpu = MergeExecutor.Execute(plan, temp.Combine("gpu"),
            new MergeOptions { Threads = 2, MethodProvider = Emulator.Provider(launchElements: 7777) });

        AssertSameFiles(cpu.OutputFolder, gpu.OutputFolder);
    }

    private static void AssertSameFiles(string expectedFolder, string actualFolder)
    {
        var expected = Directory.GetFiles(expectedFolder).Select(Path.GetFileName).Order().ToList();
        Assert.Equal(expected, Directory.GetFiles(actualFolder).Select(Path.GetFileName).Order().ToList());
        Assert.Contains(expected, f => f!.EndsWith(".safetensors", StringComparison.Ordinal));
        foreach (var file in expected)
        {
            Assert.True(File.ReadAllBytes(Path.Combine(expectedFolder, file!))
                    .AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(actualFolder, file!))),
                $"{file} differs between the CPU and the GPU provider");
        }
    }
}
