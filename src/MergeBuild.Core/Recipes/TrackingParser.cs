using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace MergeBuild.Recipes;

/// <summary>
/// Wraps YamlDotNet's parser to keep a position for every failure. Some malformed inputs (an unclosed <c>[</c>
/// followed by a mapping key) make YamlDotNet's scanner throw a bare <see cref="InvalidOperationException"/> without
/// a position; this turns it into a <see cref="YamlException"/> at the innermost flow collection still open (the
/// usual culprit), or else where the last good event ended.
/// <para>
/// It also bounds what a hostile recipe can make the loader do, while the events stream past and before any node is
/// built: nesting at <see cref="MaxDepth"/> (YamlDotNet's node loader recurses and would overflow the stack), and the
/// size of each document with every alias expanded at <see cref="MaxExpandedNodes"/> (anchors that each refer to
/// the previous one twice, "billion laughs", make the loader and every later walk exponential). An alias must follow
/// its anchor's complete node, as in PyYAML, which mergekit uses: YamlDotNet would otherwise resolve forward and
/// self references, making cycles that walks follow forever (both found by fuzzing).
/// </para>
/// </summary>
internal sealed class TrackingParser(IParser inner) : IParser
{
    /// <summary>Deepest nesting of collections accepted; real recipes nest five or six levels.</summary>
    public const int MaxDepth = 64;

    /// <summary>Most nodes one document may have once aliases are expanded; real recipes have a few thousand.</summary>
    public const long MaxExpandedNodes = 100_000;

    private readonly Stack<Mark> _openFlow = new();

    // One frame per open collection: its anchor (or null) and the expanded size of what it holds so far.
    private readonly Stack<OpenCollection> _open = new();
    private readonly Dictionary<string, long> _anchorSizes = new(StringComparer.Ordinal);
    private Mark _lastGood = Mark.Empty;

    public ParsingEvent? Current => inner.Current;

    /// <summary>Where the last event that parsed cleanly ended.</summary>
    public Mark LastGood => _lastGood;

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
        Bound(current);
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

    private void Bound(ParsingEvent current)
    {
        switch (current)
        {
            case DocumentStart:
                // Anchors are scoped to their document.
                _anchorSizes.Clear();
                break;
            case NodeEvent start when start is SequenceStart or MappingStart:
                if (_open.Count >= MaxDepth)
                {
                    throw new YamlException(current.Start, current.End,
                        $"The YAML nests collections more than {MaxDepth} levels deep.");
                }

                _open.Push(new OpenCollection(start.Anchor.IsEmpty ? null : start.Anchor.Value));
                break;
            case SequenceEnd or MappingEnd when _open.Count > 0:
                var done = _open.Pop();
                if (done.Anchor is not null)
                {
                    _anchorSizes[done.Anchor] = done.Size;
                }

                AddNode(current, done.Size);
                break;
            case Scalar scalar:
                if (!scalar.Anchor.IsEmpty)
                {
                    _anchorSizes[scalar.Anchor.Value] = 1;
                }

                AddNode(current, 1);
                break;
            case AnchorAlias alias:
                if (!_anchorSizes.TryGetValue(alias.Value.Value, out var size))
                {
                    throw new YamlException(current.Start, current.End,
                        $"The alias '*{alias.Value.Value}' does not follow a complete node anchored '&{alias.Value.Value}' " +
                        "(forward and self references are not allowed).");
                }

                AddNode(current, size);
                break;
        }
    }

    private void AddNode(ParsingEvent current, long size)
    {
        var total = size;
        if (_open.TryPeek(out var parent))
        {
            parent.Size += size;
            total = parent.Size;
        }

        // A collection's size bounds all of its descendants', so checking each addition bounds the document.
        if (total > MaxExpandedNodes)
        {
            throw new YamlException(current.Start, current.End,
                $"The document expands to more than {MaxExpandedNodes:N0} nodes (anchors and aliases that multiply); " +
                "write the values out instead of nesting aliases.");
        }
    }

    private sealed class OpenCollection(string? anchor)
    {
        public string? Anchor { get; } = anchor;

        public long Size { get; set; } = 1;
    }
}
