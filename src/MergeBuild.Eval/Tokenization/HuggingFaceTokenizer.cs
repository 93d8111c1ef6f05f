using System.Text.RegularExpressions;
using MergeBuild.Diagnostics;

namespace MergeBuild.Eval.Tokenization;

/// <summary>
/// A tokenizer built from a Hugging Face <c>tokenizer.json</c>, following the tokenizers pipeline: split out added
/// tokens; normalise, pre-tokenize and model-tokenize the text between them; wrap in the post-processor's special
/// tokens. Decoding maps ids to token strings and runs the decoder chain. Thread-safe.
/// </summary>
public sealed class HuggingFaceTokenizer : ITextTokenizer
{
    private readonly AddedTokenSplitter _splitter;
    private readonly Normalizer? _normalizer;
    private readonly PreTokenizer? _preTokenizer;
    private readonly TokenModel _model;
    private readonly PostProcessor _postProcessor;
    private readonly TokenDecoder? _decoder;
    private readonly Dictionary<string, int> _addedByContent;
    private readonly Dictionary<int, AddedToken> _addedById;

    internal HuggingFaceTokenizer(IReadOnlyList<AddedToken> addedTokens, Normalizer? normalizer,
        PreTokenizer? preTokenizer, TokenModel model, PostProcessor postProcessor, TokenDecoder? decoder)
    {
        AddedTokens = addedTokens;
        _splitter = new AddedTokenSplitter(addedTokens);
        _normalizer = normalizer;
        _preTokenizer = preTokenizer;
        _model = model;
        _postProcessor = postProcessor;
        _decoder = decoder;
        _addedByContent = new Dictionary<string, int>(StringComparer.Ordinal);
        _addedById = [];
        foreach (var token in addedTokens)
        {
            _addedByContent.TryAdd(token.Content, token.Id);
            _addedById.TryAdd(token.Id, token);
        }
    }

    public int? BosId { get; internal set; }

    public int? EosId { get; internal set; }

    /// <summary>The <c>added_tokens</c> entries.</summary>
    public IReadOnlyList<AddedToken> AddedTokens { get; }

    /// <summary>The tokenizer.json this was loaded from, for error messages.</summary>
    public string? SourcePath { get; internal set; }

    /// <summary>
    /// Token ids of <paramref name="text"/>. Throws MB6003 when a regular expression from tokenizer.json runs past
    /// its time limit (<see cref="TokenizerJson.RegexTimeout"/>): a pattern with catastrophic backtracking in an
    /// untrusted file must fail the evaluation, not hang the build.
    /// </summary>
    public IReadOnlyList<int> Encode(string text, bool addSpecial = true)
    {
        ArgumentNullException.ThrowIfNull(text);
        try
        {
            return EncodeCore(text, addSpecial);
        }
        catch (RegexMatchTimeoutException ex)
        {
            throw RegexTooSlow(ex);
        }
    }

    private List<int> EncodeCore(string text, bool addSpecial)
    {
        var ids = new List<int>(text.Length + 2);
        if (addSpecial)
        {
            ids.AddRange(_postProcessor.Prefix);
        }

        foreach (var segment in _splitter.Split(text))
        {
            if (segment.AddedId is { } added)
            {
                ids.Add(added);
                continue;
            }

            var normalized = _normalizer?.Normalize(segment.Text) ?? segment.Text;
            if (normalized.Length == 0)
            {
                continue;
            }

            var piece = new Piece(normalized, segment.AtStart);
            var pieces = _preTokenizer is null ? [piece] : _preTokenizer.SplitAll([piece]);
            foreach (var p in pieces)
            {
                _model.Tokenize(p.Text, ids);
            }
        }

        if (addSpecial)
        {
            ids.AddRange(_postProcessor.Suffix);
        }

        return ids;
    }

    /// <summary>The text of <paramref name="ids"/>; MB6003 on a regex time-out like <see cref="Encode"/>.</summary>
    public string Decode(IEnumerable<int> ids, bool skipSpecial = false)
    {
        ArgumentNullException.ThrowIfNull(ids);
        try
        {
            return DecodeCore(ids, skipSpecial);
        }
        catch (RegexMatchTimeoutException ex)
        {
            throw RegexTooSlow(ex);
        }
    }

    private MergeBuildException RegexTooSlow(RegexMatchTimeoutException ex) =>
        new(ErrorCodes.MalformedTokenizer,
            $"tokenizer.json: the regular expression '{ex.Pattern}' took longer than {ex.MatchTimeout.TotalSeconds:0.#} s " +
            "on one input (catastrophic backtracking).",
            new SourceLocation(SourcePath ?? TokenizerLoader.FileName),
            "Use the tokenizer.json published with the model; its patterns run in linear time.", ex);

    private string DecodeCore(IEnumerable<int> ids, bool skipSpecial)
    {
        var tokens = new List<string>();
        foreach (var id in ids)
        {
            if (_addedById.TryGetValue(id, out var added))
            {
                if (!(skipSpecial && added.Special))
                {
                    tokens.Add(added.Content);
                }
            }
            else if (_model.IdToToken.TryGetValue(id, out var token))
            {
                tokens.Add(token);
            }
        }

        // Without a decoder tokenizers joins the tokens with spaces.
        return _decoder is null ? string.Join(' ', tokens) : string.Concat(_decoder.DecodeChain(tokens));
    }

    public int? TokenToId(string token) =>
        _addedByContent.TryGetValue(token, out var added) ? added
        : _model.Vocabulary.TryGetValue(token, out var id) ? id
        : null;
}
