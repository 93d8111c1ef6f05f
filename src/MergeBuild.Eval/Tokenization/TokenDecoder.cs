using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace MergeBuild.Eval.Tokenization;

/// <summary>
/// The <c>decoder</c> of a tokenizer.json: a chain of steps over the token strings (tokenizers' decode_chain) whose
/// outputs are finally concatenated. Fuse, ByteLevel, Replace, ByteFallback, Strip, Metaspace and Sequence.
/// </summary>
internal abstract class TokenDecoder
{
    private const string Supported = "Sequence, Fuse, ByteLevel, Replace, ByteFallback, Strip, Metaspace";

    public abstract List<string> DecodeChain(List<string> tokens);

    public static TokenDecoder? Create(JsonElement element, TokenizerJson json)
    {
        if (TokenizerJson.IsNull(element))
        {
            return null;
        }

        var type = TokenizerJson.TypeOf(element);
        return type switch
        {
            "Sequence" => new SequenceDecoder(
                json.Array(element, "decoders").Select(e => Create(e, json)).OfType<TokenDecoder>().ToArray()),
            "Fuse" => new PerChain(tokens => [string.Concat(tokens)]),
            "ByteLevel" => new PerChain(tokens => [DecodeByteLevel(string.Concat(tokens))]),
            "Replace" => Replace(json.Pattern(element, "pattern"), json.String(element, "content")),
            "ByteFallback" => new PerChain(DecodeByteFallback),
            "Strip" => Strip(json.String(element, "content"), json.Int(element, "start"), json.Int(element, "stop"), json),
            "Metaspace" => Metaspace(element, json),
            _ => throw json.Unsupported("decoder", type, Supported),
        };
    }

    private static PerChain Replace(Regex pattern, string content) =>
        new(tokens => tokens.Select(t => pattern.Replace(t, content)).ToList());

    // Removes up to `start` leading and `stop` trailing copies of one character from every token.
    private static PerChain Strip(string content, int start, int stop, TokenizerJson json)
    {
        if (content.Length != 1)
        {
            throw json.Malformed("the Strip decoder's content must be one character.");
        }

        var c = content[0];
        return new PerChain(tokens => tokens.Select(token =>
        {
            var from = 0;
            while (from < Math.Min(start, token.Length) && token[from] == c)
            {
                from++;
            }

            var to = token.Length;
            while (token.Length - to < stop && to > from && token[to - 1] == c)
            {
                to--;
            }

            return token[from..to];
        }).ToList());
    }

    // '▁' back to spaces; the space the pre-tokenizer prepended to the first token is dropped.
    private static PerChain Metaspace(JsonElement element, TokenizerJson json)
    {
        var replacement = TokenizerJson.OptionalString(element, "replacement") ?? "▁";
        var prepended = MetaspacePreTokenizer.ParseScheme(element, json) != PrependScheme.Never;
        return new PerChain(tokens => tokens.Select((token, i) =>
        {
            var text = token.Replace(replacement, " ", StringComparison.Ordinal);
            return i == 0 && prepended && text.StartsWith(' ') ? text[1..] : text;
        }).ToList());
    }

    private static string DecodeByteLevel(string text)
    {
        var bytes = new List<byte>(text.Length);
        foreach (var c in text)
        {
            if (ByteLevelAlphabet.Decode(c) is { } b)
            {
                bytes.Add(b);
            }
            else
            {
                bytes.AddRange(Encoding.UTF8.GetBytes(c.ToString()));
            }
        }

        // Invalid UTF-8 (a multi-byte character cut between tokens) becomes U+FFFD, as from_utf8_lossy does.
        return Encoding.UTF8.GetString(bytes.ToArray());
    }

    // Runs of <0xNN> tokens become the text their bytes spell; when those bytes are not valid UTF-8 each byte
    // becomes U+FFFD (tokenizers' ByteFallback decoder).
    private static List<string> DecodeByteFallback(List<string> tokens)
    {
        var output = new List<string>(tokens.Count);
        var pending = new List<byte>();
        var strict = new UTF8Encoding(false, throwOnInvalidBytes: true);

        void Flush()
        {
            if (pending.Count == 0)
            {
                return;
            }

            try
            {
                output.Add(strict.GetString(pending.ToArray()));
            }
            catch (DecoderFallbackException)
            {
                output.AddRange(Enumerable.Repeat("\uFFFD", pending.Count));
            }

            pending.Clear();
        }

        foreach (var token in tokens)
        {
            if (token.Length == 6 && token.StartsWith("<0x", StringComparison.Ordinal) && token[5] == '>' &&
                byte.TryParse(token.AsSpan(3, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var b))
            {
                pending.Add(b);
                continue;
            }

            Flush();
            output.Add(token);
        }

        Flush();
        return output;
    }

    private sealed class PerChain(Func<List<string>, List<string>> decode) : TokenDecoder
    {
        public override List<string> DecodeChain(List<string> tokens) => decode(tokens);
    }

    private sealed class SequenceDecoder(TokenDecoder[] steps) : TokenDecoder
    {
        public override List<string> DecodeChain(List<string> tokens) =>
            steps.Aggregate(tokens, (current, step) => step.DecodeChain(current));
    }
}
