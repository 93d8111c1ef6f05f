using MergeBuild.Diagnostics;
using MergeBuild.Planning;

namespace MergeBuild.Tokenizers;

/// <summary>Where a token's default embedding row comes from (mergekit's token source kinds).</summary>
public enum TokenRuleKind
{
    /// <summary>No explicit source: the only model that has it, the base model's row, or the mean of the models' rows.</summary>
    Automatic,

    /// <summary>The same token's row in <see cref="TokenRule.Model"/> (<c>source: model</c>).</summary>
    SameToken,

    /// <summary>Row <see cref="TokenRule.Row"/> of <see cref="TokenRule.Model"/>'s own vocabulary (<c>kind: model_token</c>).</summary>
    ModelRow,

    /// <summary>An all-zero row (<c>kind: zero</c>).</summary>
    Zero,
}

/// <summary>
/// A <c>tokenizer.tokens</c> entry with its model resolved. <see cref="Force"/> makes every model use the default row
/// even where it has the token itself.
/// </summary>
public sealed record TokenRule(TokenRuleKind Kind, PlannedModel? Model, int Row, bool Force, SourceLocation Location);
