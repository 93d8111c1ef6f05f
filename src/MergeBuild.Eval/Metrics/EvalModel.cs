using MergeBuild.Eval.Inference;
using MergeBuild.Eval.Tokenization;

namespace MergeBuild.Eval.Metrics;

/// <summary>
/// A model ready to evaluate: the weights, the tokenizer and the tokens that end generation (the tokenizer's EOS and
/// every <c>eos_token_id</c> of generation_config.json). Load once and evaluate several sets with it.
/// </summary>
public sealed class EvalModel
{
    public EvalModel(LlamaModel model, ITextTokenizer tokenizer, IEnumerable<int> stopIds)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(stopIds);
        Model = model;
        Tokenizer = tokenizer;
        StopIds = [.. stopIds.Distinct()];
    }

    public LlamaModel Model { get; }

    public ITextTokenizer Tokenizer { get; }

    public IReadOnlyList<int> StopIds { get; }

    /// <summary>Loads weights and tokenizer from one Hugging Face model folder.</summary>
    public static EvalModel Load(string folder)
    {
        var model = LlamaModel.Load(folder);
        var tokenizer = TokenizerLoader.Load(folder);
        IEnumerable<int> stops = tokenizer.EosId is { } eos ? [eos] : [];
        return new EvalModel(model, tokenizer, stops.Concat(SpecialTokenIds.GenerationEosIds(folder)));
    }
}
