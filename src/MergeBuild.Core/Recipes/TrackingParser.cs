using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace MergeBuild.Recipes;

/// <summary>
/// Wraps YamlDotNet's parser to keep a position for every failure. Some malformed inputs (an unclosed <c>[</c>
/// followed by a mapping key) make YamlDotNet's scanner throw a bare <see cref="InvalidOperationException"/> without
/// a position; this turns it into a <see cref="YamlException"/> at the innermost flow collection still open (the
/// usual culprit), or else where the last good event ended.
/// </summary>
internal sealed class TrackingParser(IParser inner) : IParser
{
    private readonly Stack<Mark> _openFlow = new();
    private Mark _lastGood = Mark.Empty;

    public ParsingEvent? Current => inner.Current;

    public bool MoveNext()
    {
        try
        {
            var moved = inner.MoveNext();
            if (moved && inner.Current is { } current)
            {
                Track(current);
            }

            return moved;
        }
        catch (InvalidOperationException ex)
        {
            if (_openFlow.TryPeek(out var open))
            {
                throw new YamlException(open, open, "This '[' or '{' is never closed (or a ':' inside it is misplaced).", ex);
            }

            throw new YamlException(_lastGood, _lastGood, "The YAML cannot be read past this point.", ex);
        }
    }

    private void Track(ParsingEvent current)
    {
        switch (current)
        {
            case SequenceStart { Style: SequenceStyle.Flow }:
            case MappingStart { Style: MappingStyle.Flow }:
                _openFlow.Push(current.Start);
                break;
            case SequenceEnd or MappingEnd when _openFlow.Count > 0:
                // A block collection never sits inside a flow one, so when a block collection ends the stack is
                // already empty and any end seen with a non-empty stack closes the innermost flow collection.
                _openFlow.Pop();
                break;
        }

        _lastGood = current.End;
    }
}
