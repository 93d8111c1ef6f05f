namespace MergeBuild.Eval.Tokenization;

/// <summary>
/// An entry of <c>added_tokens</c>: text matched verbatim before any other tokenization. <see cref="LStrip"/> and
/// <see cref="RStrip"/> let the match absorb whitespace on that side; special tokens can be skipped when decoding.
/// </summary>
public sealed record AddedToken(int Id, string Content, bool Special, bool LStrip = false, bool RStrip = false);
