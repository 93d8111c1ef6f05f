using System.Buffers.Binary;
using MergeBuild.Tests;

namespace MergeBuild.Core.Tests.Execution;

/// <summary>
/// A NaN anywhere in a tensor makes slerp's and nuslerp's sums NaN, and with them every output element. Which NaN
/// must not depend on the JIT's operand order (the payload of a product of two NaNs is the first operand's): every
/// element of that tensor is the factor's NaN, on the stored-bytes path (bf16) and the buffer path (float32) alike,
/// and the other tensors are untouched by it.
/// </summary>
public class GeometricNaNTests
{
    private const string Poisoned = "model.layers.1.self_attn.q_proj.weight";

    public static TheoryData<string> Recipes() =>
    [
        "merge_method: slerp\nbase_model: {models}/shipping\nparameters: {t: 0.3}\nmodels:\n  - model: {models}/shipping\n  - model: {models}/refunds\n",
        "merge_method: nuslerp\nbase_model: {models}/base\nmodels:\n  - model: {models}/shipping\n    parameters: {weight: 1}\n  - model: {models}/refunds\n    parameters: {weight: 2}\n",
        "merge_method: nuslerp\nmodels:\n  - model: {models}/shipping\n    parameters: {weight: 1}\n  - model: {models}/refunds\n    parameters: {weight: 3}\n",
    ];

    [Theory]
    [MemberData(nameof(Recipes))]
    public void A_nan_in_a_tensor_makes_every_output_element_of_it_one_nan_on_both_paths(string recipe)
    {
        foreach (var dtype in new[] { "bfloat16", "float32" })
        {
            using var temp = new TempFolder();
            // NaNs with varied payloads, signs and quiet bits, some at the same element in both models, some in the
            // elements past the last whole vector.
            PoisonedCopy(temp, "shipping", 0, 53);
            PoisonedCopy(temp, "refunds", 1, 37);
            var yaml = recipe + $"dtype: {dtype}\n";
            var poisoned = RawSafetensors.ReadFolder(MergeRunner.Merge(temp, yaml.Replace("{models}/shipping", temp.Combine("shipping"))
                .Replace("{models}/refunds", temp.Combine("refunds")), output: "poisoned"));
            var clean = RawSafetensors.ReadFolder(MergeRunner.Merge(temp, yaml, output: "clean"));

            var values = poisoned[Poisoned].AsFloats();
            Assert.All(values, v => Assert.True(float.IsNaN(v), $"{dtype}: a number in the poisoned tensor"));
            var bits = poisoned[Poisoned].Data;
            var size = bits.Length / values.Length;
            for (var i = size; i < bits.Length; i += size)
            {
                Assert.True(bits.AsSpan(i, size).SequenceEqual(bits.AsSpan(0, size)), $"{dtype}: element {i / size} differs");
            }

            foreach (var (name, tensor) in clean.Where(t => t.Key != Poisoned))
            {
                Assert.Equal(tensor.Data, poisoned[name].Data);
            }
        }
    }

    /// <summary>
    /// A copy of a fixture model whose poisoned tensor has a NaN at every <paramref name="every"/>-th element from
    /// <paramref name="first"/>, and at its last element.
    /// </summary>
    private static void PoisonedCopy(TempFolder temp, string model, int first, int every) =>
        FixtureCopy.Write(temp, model, model, (name, data) => name == Poisoned ? WithNaNs(data, first, every) : data);

    private static byte[] WithNaNs(byte[] data, int first, int every)
    {
        var poisoned = data.ToArray();
        var count = poisoned.Length / 2;
        foreach (var element in Enumerable.Range(0, count).Where(e => e % every == first || e == count - 1))
        {
            // Signalling and quiet NaNs of both signs with payloads from the element's index.
            var nan = (ushort)((element % 2 == 0 ? 0x7F80 : 0xFF80) | (element % 3 == 0 ? 0x40 : 0) | (1 + element % 63));
            BinaryPrimitives.WriteUInt16LittleEndian(poisoned.AsSpan(2 * element), nan);
        }

        return poisoned;
    }
}
