namespace MergeBuild.Eval.Inference;

/// <summary>
/// One sequence being decoded: the tokens seen so far live in its KV cache, so each new token costs one
/// position's work. Not thread-safe; use one session per sequence (sessions of one model may run concurrently).
/// </summary>
public sealed class InferenceSession
{
    internal InferenceSession(LlamaModel model)
        : this(model, new KvCache(model.Config.NumLayers, model.Config.NumKeyValueHeads * model.Config.HeadDim), 0)
    {
    }

    private InferenceSession(LlamaModel model, KvCache cache, int length)
    {
        Model = model;
        Cache = cache;
        Length = length;
    }

    /// <summary>The model the session runs.</summary>
    public LlamaModel Model { get; }

    /// <summary>Tokens processed so far (the next token's position).</summary>
    public int Length { get; internal set; }

    internal KvCache Cache { get; }

    /// <summary>Feeds <paramref name="ids"/> and returns the float32 logits after the last of them.</summary>
    public float[] Append(ReadOnlySpan<int> ids)
    {
        if (ids.IsEmpty)
        {
            throw new ArgumentException("At least one token is needed.", nameof(ids));
        }

        return Model.ForwardLast([this], [ids.ToArray()]);
    }

    /// <summary>
    /// An independent session continuing from the same tokens (the KV cache is copied), e.g. to decode several
    /// continuations of one prompt without recomputing it.
    /// </summary>
    public InferenceSession Fork() => new(Model, Cache.Copy(Length), Length);

    /// <summary>Forgets every token (the cache's memory is kept for reuse).</summary>
    public void Reset() => Length = 0;
}
