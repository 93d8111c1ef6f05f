using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;

namespace MergeBuild.Eval.Tokenization;

/// <summary>
/// tokenizers' BPE model, serving both byte-level BPE (GPT-2, Llama 3, Qwen2: pieces already in the byte alphabet)
/// and SentencePiece-style BPE (Llama 2, Mistral: '▁' for spaces, <c>&lt;0xNN&gt;</c> byte fallback for characters
/// outside the vocabulary). A piece starts as one symbol per character; then the adjacent pair with the lowest
/// merge rank is merged (leftmost on a tie) until no pair has a merge — tokenizers' priority-queue algorithm.
/// </summary>
internal sealed class BpeModel : TokenModel
{
    private const int CacheCapacity = 10_000;

    private readonly Dictionary<long, (int Rank, int Id)> _merges;
    private readonly int? _unkId;
    private readonly bool _byteFallback;
    private readonly bool _fuseUnk;
    private readonly bool _ignoreMerges;
    private readonly string? _continuingPrefix;
    private readonly string? _endOfWordSuffix;
    private readonly ConcurrentDictionary<string, int[]> _cache = new(StringComparer.Ordinal);

    private BpeModel(Dictionary<string, int> vocabulary, Dictionary<long, (int Rank, int Id)> merges, int? unkId,
        bool byteFallback, bool fuseUnk, bool ignoreMerges, string? continuingPrefix, string? endOfWordSuffix)
        : base(vocabulary)
    {
        _merges = merges;
        _unkId = unkId;
        _byteFallback = byteFallback;
        _fuseUnk = fuseUnk;
        _ignoreMerges = ignoreMerges;
        _continuingPrefix = continuingPrefix;
        _endOfWordSuffix = endOfWordSuffix;
    }

    public static BpeModel Create(JsonElement element, Dictionary<string, int> vocabulary, TokenizerJson json)
    {
        var prefix = TokenizerJson.OptionalString(element, "continuing_subword_prefix");
        var merges = new Dictionary<long, (int Rank, int Id)>();
        var rank = 0;
        foreach (var merge in json.Array(element, "merges"))
        {
            var (left, right) = ParseMerge(merge, json);
            var joined = left + (prefix is not null && right.StartsWith(prefix, StringComparison.Ordinal)
                ? right[prefix.Length..]
                : right);
            if (!vocabulary.TryGetValue(left, out var a) || !vocabulary.TryGetValue(right, out var b) ||
                !vocabulary.TryGetValue(joined, out var merged))
            {
                throw json.Malformed($"merge '{left} {right}' uses a token missing from the vocabulary.");
            }

            // The first occurrence of a pair wins, as in tokenizers.
            merges.TryAdd(Key(a, b), (rank++, merged));
        }

        var unkToken = TokenizerJson.OptionalString(element, "unk_token");
        int? unkId = unkToken is not null && vocabulary.TryGetValue(unkToken, out var unk) ? unk : null;
        return new BpeModel(vocabulary, merges, unkId,
            TokenizerJson.Bool(element, "byte_fallback", false),
            TokenizerJson.Bool(element, "fuse_unk", false),
            TokenizerJson.Bool(element, "ignore_merges", false),
            prefix,
            TokenizerJson.OptionalString(element, "end_of_word_suffix"));
    }

    public override void Tokenize(string piece, List<int> output)
    {
        if (piece.Length == 0)
        {
            return;
        }

        if (_cache.TryGetValue(piece, out var cached))
        {
            output.AddRange(cached);
            return;
        }

        var ids = _ignoreMerges && Vocabulary.TryGetValue(piece, out var whole) ? [whole] : Merge(InitialSymbols(piece));
        if (_cache.Count < CacheCapacity)
        {
            _cache.TryAdd(piece, ids);
        }

        output.AddRange(ids);
    }

    private static (string Left, string Right) ParseMerge(JsonElement merge, TokenizerJson json)
    {
        // Older files write "a b", newer ones ["a", "b"] (which allows spaces inside tokens).
        if (merge.ValueKind == JsonValueKind.String)
        {
            var parts = merge.GetString()!.Split(' ');
            if (parts.Length == 2)
            {
                return (parts[0], parts[1]);
            }
        }
        else if (merge.ValueKind == JsonValueKind.Array && merge.GetArrayLength() == 2 &&
                 merge[0].ValueKind == JsonValueKind.String && merge[1].ValueKind == JsonValueKind.String)
        {
            return (merge[0].GetString()!, merge[1].GetString()!);
        }

        throw json.Malformed($"a merge must be \"left right\" or [\"left\", \"right\"], not {merge.GetRawText()}.");
    }

    private static long Key(int left, int right) => ((long)left << 32) | (uint)right;

    // One symbol per character (Unicode scalar); characters outside the vocabulary become their UTF-8 byte tokens
    // with byte fallback, else the unknown token (consecutive ones fused into one when fuse_unk is set).
    private List<int> InitialSymbols(string piece)
    {
        var symbols = new List<int>(piece.Length);
        var pendingUnk = false;
        var index = 0;
        var runes = piece.EnumerateRunes().ToArray();
        foreach (var rune in runes)
        {
            var text = rune.ToString();
            if (index > 0 && _continuingPrefix is not null)
            {
                text = _continuingPrefix + text;
            }

            if (index == runes.Length - 1 && _endOfWordSuffix is not null)
            {
                text += _endOfWordSuffix;
            }

            index++;
            if (Vocabulary.TryGetValue(text, out var id))
            {
                FlushUnk(symbols, ref pendingUnk);
                symbols.Add(id);
                continue;
            }

            if (_byteFallback && TryBytes(text, out var byteIds))
            {
                FlushUnk(symbols, ref pendingUnk);
                symbols.AddRange(byteIds);
                continue;
            }

            if (_unkId is { } unk)
            {
                if (pendingUnk && !_fuseUnk)
                {
                    symbols.Add(unk);
                }

                pendingUnk = true;
            }
        }

        FlushUnk(symbols, ref pendingUnk);
        return symbols;
    }

    private void FlushUnk(List<int> symbols, ref bool pendingUnk)
    {
        if (pendingUnk && _unkId is { } unk)
        {
            symbols.Add(unk);
        }

        pendingUnk = false;
    }

    private bool TryBytes(string text, out int[] ids)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        ids = new int[bytes.Length];
        for (var i = 0; i < bytes.Length; i++)
        {
            if (!Vocabulary.TryGetValue($"<0x{bytes[i]:X2}>", out ids[i]))
            {
                return false;
            }
        }

        return true;
    }

    private int[] Merge(List<int> symbols)
    {
        var count = symbols.Count;
        var ids = symbols.ToArray();
        var next = new int[count];
        var previous = new int[count];
        var alive = new bool[count];
        var queue = new PriorityQueue<(int Position, int Id), (int Rank, int Position)>();
        for (var i = 0; i < count; i++)
        {
            next[i] = i + 1 < count ? i + 1 : -1;
            previous[i] = i - 1;
            alive[i] = true;
        }

        void Consider(int position)
        {
            var right = next[position];
            if (right >= 0 && _merges.TryGetValue(Key(ids[position], ids[right]), out var merge))
            {
                queue.Enqueue((position, merge.Id), (merge.Rank, position));
            }
        }

        for (var i = 0; i + 1 < count; i++)
        {
            Consider(i);
        }

        while (queue.TryDequeue(out var candidate, out _))
        {
            var position = candidate.Position;
            var right = alive[position] ? next[position] : -1;
            // Entries go stale when a neighbour merged first; skip those whose pair no longer gives this token.
            if (right < 0 || !_merges.TryGetValue(Key(ids[position], ids[right]), out var merge) ||
                merge.Id != candidate.Id)
            {
                continue;
            }

            ids[position] = merge.Id;
            alive[right] = false;
            next[position] = next[right];
            if (next[position] >= 0)
            {
                previous[next[position]] = position;
            }

            if (previous[position] >= 0)
            {
                Consider(previous[position]);
            }

            Consider(position);
        }

        var result = new List<int>(count);
        for (var i = count > 0 ? 0 : -1; i >= 0; i = next[i])
        {
            result.Add(ids[i]);
        }

        return [.. result];
    }
}
