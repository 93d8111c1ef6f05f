namespace MergeBuild.Eval.Inference;

/// <summary>
/// Feeds many prompts while computing each distinct prefix once. The prompts form a token trie; its nodes (runs of
/// tokens without a branch or a prompt end) are fed level by level, each level in one batched forward pass, every
/// node continuing from a fork of its parent's session. Eval prompts share long stems ("ship: carrier=…"), so this
/// feeds a fraction of the tokens (shipping: 1,145 instead of 7,150). The KV caches and logits are exactly those of
/// feeding each prompt on its own, because every position's computation is independent of the batch.
/// </summary>
internal static class SharedPrefixPrefill
{
    /// <summary>For each prompt, a session that has seen it and the logits after its last token ([prompts, vocab]).</summary>
    public static (InferenceSession[] Sessions, float[] Logits) Run(LlamaModel model, IReadOnlyList<int[]> prompts)
    {
        var root = Build(prompts);
        var sessions = new InferenceSession[prompts.Count];
        var logits = new float[prompts.Count * model.VocabSize];
        var level = root.Children.Values.Select(child => (Node: child, Parent: model.CreateSession())).ToList();
        while (level.Count > 0)
        {
            var nodeSessions = level.Select(entry => entry.Parent.Length == 0 ? entry.Parent : entry.Parent.Fork())
                .ToArray();
            var nodeLogits = model.ForwardLast(nodeSessions, level.Select(entry => entry.Node.Tokens.ToArray()).ToArray());
            var next = new List<(Node, InferenceSession)>();
            for (var n = 0; n < level.Count; n++)
            {
                var node = level[n].Node;
                foreach (var prompt in node.Ending)
                {
                    sessions[prompt] = nodeSessions[n].Fork();
                    nodeLogits.AsSpan(n * model.VocabSize, model.VocabSize).CopyTo(logits.AsSpan(prompt * model.VocabSize));
                }

                next.AddRange(node.Children.Values.Select(child => (child, nodeSessions[n])));
            }

            level = next;
        }

        return (sessions, logits);
    }

    private sealed class Node
    {
        public List<int> Tokens { get; } = [];

        public Dictionary<int, Node> Children { get; } = [];

        public List<int> Ending { get; } = [];
    }

    // A trie with one token per node, then chains without branches or prompt ends folded into one node.
    private static Node Build(IReadOnlyList<int[]> prompts)
    {
        var root = new Node();
        for (var p = 0; p < prompts.Count; p++)
        {
            var node = root;
            foreach (var token in prompts[p])
            {
                if (!node.Children.TryGetValue(token, out var child))
                {
                    child = new Node();
                    child.Tokens.Add(token);
                    node.Children.Add(token, child);
                }

                node = child;
            }

            node.Ending.Add(p);
        }

        var stack = new Stack<Node>(root.Children.Values);
        while (stack.Count > 0)
        {
            var node = stack.Pop();
            while (node.Ending.Count == 0 && node.Children.Count == 1)
            {
                var only = node.Children.Values.First();
                node.Tokens.AddRange(only.Tokens);
                node.Ending.AddRange(only.Ending);
                node.Children.Clear();
                foreach (var (token, grandchild) in only.Children)
                {
                    node.Children.Add(token, grandchild);
                }
            }

            foreach (var child in node.Children.Values)
            {
                stack.Push(child);
            }
        }

        return root;
    }
}
