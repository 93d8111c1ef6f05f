using MergeBuild.Diagnostics;

namespace MergeBuild.Recipes;

/// <summary>
/// The recipe's <c>tokenizer:</c> block: where the output vocabulary comes from and how individual tokens' embeddings
/// are filled. <see cref="Source"/> is <c>union</c> (the default), <c>base</c>, or a model reference's text.
/// </summary>
public sealed record TokenizerConfig(string Source, IReadOnlyDictionary<string, TokenSettings> Tokens, int? PadToMultipleOf, SourceLocation Location)
{
    /// <summary>The model when <see cref="Source"/> is a model reference; null for <c>union</c> and <c>base</c>.</summary>
    public ModelReference? SourceModel { get; init; }
}

/// <summary>How one token's embedding is produced (<c>tokens: {"&lt;|im_start|&gt;": {source, force}}</c>).</summary>
public sealed record TokenSettings(TokenSource? Source, bool Force, SourceLocation Location);

/// <summary>Where a token's embedding row comes from. See the derived records.</summary>
public abstract record TokenSource(SourceLocation Location);

/// <summary>The same token's embedding in another model (<c>source: some/model</c>).</summary>
public sealed record ModelEmbeddingTokenSource(ModelReference Model, SourceLocation Location) : TokenSource(Location);

/// <summary>
/// A specific token's embedding in a model (<c>{kind: model_token, model, token | token_id}</c>);
/// exactly one of <see cref="Token"/> and <see cref="TokenId"/> is set.
/// </summary>
public sealed record ModelTokenSource(ModelReference Model, string? Token, int? TokenId, SourceLocation Location) : TokenSource(Location);

/// <summary>An all-zero embedding row (<c>{kind: zero}</c>).</summary>
public sealed record ZeroTokenSource(SourceLocation Location) : TokenSource(Location);
