namespace MergeBuild.Eval.Inference;

/// <summary>
/// One decoder layer's weights in float32. q, k and v are packed into one matrix (outputs [q | k | v]) and gate
/// and up into another ([gate | up]), so each needs a single pass over the normalised activations.
/// </summary>
internal sealed record LlamaLayer(
    float[] InputNorm,
    PackedMatrix QueryKeyValue,
    PackedMatrix Output,
    float[] PostAttentionNorm,
    PackedMatrix GateUp,
    PackedMatrix Down);
