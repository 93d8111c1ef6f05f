namespace MergeBuild.Eval.Tokenization;

/// <summary>Text to token ids and back, as a model's Hugging Face tokenizer does it.</summary>
public interface ITextTokenizer
{
    /// <summary>The beginning-of-sequence token, when the tokenizer has one.</summary>
    int? BosId { get; }

    /// <summary>The end-of-sequence token, when the tokenizer has one.</summary>
    int? EosId { get; }

    /// <summary>
    /// Token ids of <paramref name="text"/>; with <paramref name="addSpecial"/> the post-processor's special tokens
    /// (e.g. a leading BOS) are added, as <c>add_special_tokens=True</c> does.
    /// </summary>
    IReadOnlyList<int> Encode(string text, bool addSpecial = true);

    /// <summary>The text of <paramref name="ids"/>; special tokens are kept unless <paramref name="skipSpecial"/>.</summary>
    string Decode(IEnumerable<int> ids, bool skipSpecial = false);

    /// <summary>The id of a token string (vocabulary or added token), or null.</summary>
    int? TokenToId(string token);
}
