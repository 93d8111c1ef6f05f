using MergeBuild.Diagnostics;

namespace MergeBuild.Eval.Tokenization;

/// <summary>tokenizers' WordLevel model: a piece is one vocabulary entry, or the unknown token.</summary>
internal sealed class WordLevelModel : TokenModel
{
    private readonly int? _unkId;
    private readonly TokenizerJson _json;

    public WordLevelModel(Dictionary<string, int> vocabulary, string? unkToken, TokenizerJson json)
        : base(vocabulary)
    {
        _json = json;
        _unkId = unkToken is not null && vocabulary.TryGetValue(unkToken, out var unk) ? unk : null;
    }

    public override void Tokenize(string piece, List<int> output)
    {
        if (Vocabulary.TryGetValue(piece, out var id))
        {
            output.Add(id);
        }
        else if (_unkId is { } unk)
        {
            output.Add(unk);
        }
        else
        {
            throw new MergeBuildException(ErrorCodes.UnsupportedTokenizer,
                $"the text piece '{piece}' is not in the WordLevel vocabulary and the tokenizer has no unk_token.",
                new SourceLocation(_json.Path), "Remove the characters the tokenizer cannot represent.");
        }
    }
}
