namespace MergeBuild.Eval.Inference;

/// <summary>
/// A Llama-family causal language model (Llama, Mistral, Qwen2) held in float32 on the CPU, with Hugging Face
/// inference semantics: RMSNorm in float32, rotate-half rotary embeddings (optionally llama3-scaled), grouped-query
/// attention, SiLU-gated MLP, q/k/v (and any other linear) biases when the checkpoint has them, and the input
/// embeddings as output head when <c>lm_head.weight</c> is absent or the config ties them.
/// <para>
/// Results are deterministic: every logit is computed in a fixed order, so they do not depend on
/// <see cref="MaxThreads"/>, on batching, or on whether a sequence is fed at once or token by token.
/// </para>
/// </summary>
public sealed partial class LlamaModel
{
    private readonly float[] _embeddings;
    private readonly LlamaLayer[] _layers;
    private readonly float[] _finalNorm;
    private readonly PackedMatrix _head;
    private readonly RotaryEmbedding _rope;
    private int _maxThreads = Environment.ProcessorCount;

    private LlamaModel(string folder, LlamaConfig config, int vocabSize, float[] embeddings, LlamaLayer[] layers,
        float[] finalNorm, PackedMatrix head)
    {
        Folder = folder;
        Config = config;
        VocabSize = vocabSize;
        _embeddings = embeddings;
        _layers = layers;
        _finalNorm = finalNorm;
        _head = head;
        _rope = new RotaryEmbedding(config.HeadDim, config.RopeTheta, config.RopeScaling);
    }

    /// <summary>The model folder it was loaded from.</summary>
    public string Folder { get; }

    public LlamaConfig Config { get; }

    /// <summary>Rows of the embedding matrix (and logits per position).</summary>
    public int VocabSize { get; }

    /// <summary>Threads a forward pass may use (default: every core). Results do not depend on it.</summary>
    public int MaxThreads
    {
        get => _maxThreads;
        set => _maxThreads = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(value));
    }

    /// <summary>A fresh session (empty KV cache) for incremental decoding.</summary>
    public InferenceSession CreateSession() => new(this);

    /// <summary>The float32 logits at every position of <paramref name="ids"/> (one array of <see cref="VocabSize"/>
    /// per position), as a model call on the whole sequence returns them.</summary>
    public float[][] ForwardLogits(ReadOnlySpan<int> ids)
    {
        if (ids.IsEmpty)
        {
            throw new ArgumentException("At least one token is needed.", nameof(ids));
        }

        var flat = Forward([CreateSession()], [ids.ToArray()], allPositions: true);
        var result = new float[ids.Length][];
        for (var p = 0; p < ids.Length; p++)
        {
            result[p] = flat.AsSpan(p * VocabSize, VocabSize).ToArray();
        }

        return result;
    }

    /// <summary>
    /// log P(continuation | prompt): the sum over the continuation's tokens of their log-softmax probability given
    /// everything before them. <paramref name="promptIds"/> must hold at least one token (usually starting with BOS).
    /// </summary>
    public double LogProbability(ReadOnlySpan<int> promptIds, ReadOnlySpan<int> continuationIds)
    {
        if (promptIds.IsEmpty)
        {
            throw new ArgumentException("The prompt needs at least one token.", nameof(promptIds));
        }

        int[] ids = [.. promptIds, .. continuationIds];
        return SequenceScorer.Score(this, [new ScoredSequence(ids, promptIds.Length)])[0].LogProbability;
    }
}
