using YamlDotNet.Core;

namespace MergeBuild.Recipes;

/// <summary>
/// Rejects deeply nested flow collections (<c>[[[[…</c>, <c>{"a":{"a":…</c>) before YamlDotNet sees the text. Its
/// scanner keeps a possible simple key per open flow level and re-examines them as it goes, so a few hundred open
/// brackets cost it tens of seconds on a 64 KB file (found by fuzzing) — before <see cref="TrackingParser"/>'s depth
/// limit sees a single event. Real recipes nest two or three levels.
/// </summary>
internal static class FlowNestingScan
{
    /// <summary>Throws a <see cref="YamlException"/> at the first bracket that opens more than
    /// <see cref="TrackingParser.MaxDepth"/> flow levels.</summary>
    public static void Check(string yamlText)
    {
        var depth = 0;
        var line = 1;
        var column = 0;
        var quote = '\0';
        var inComment = false;
        var previous = '\n';
        for (var i = 0; i < yamlText.Length; i++)
        {
            var c = yamlText[i];
            column++;
            if (c == '\n')
            {
                line++;
                column = 0;
                inComment = false;
            }
            else if (inComment)
            {
            }
            else if (quote != '\0')
            {
                if (quote == '"' && c == '\\')
                {
                    i++;
                    column++;
                }
                else if (c == quote)
                {
                    quote = '\0';
                }
            }
            else if (c == '#' && char.IsWhiteSpace(previous))
            {
                inComment = true;
            }
            else if (c is '\'' or '"' && (char.IsWhiteSpace(previous) || previous is '[' or '{' or ',' or ':' or '-'))
            {
                // Quotes open a scalar only where a token starts; an apostrophe inside a plain word does not.
                quote = c;
            }
            else if (c is '[' or '{')
            {
                if (++depth > TrackingParser.MaxDepth)
                {
                    var at = new Mark(i, line, column);
                    throw new YamlException(at, at,
                        $"The YAML nests collections more than {TrackingParser.MaxDepth} levels deep.");
                }
            }
            else if (c is ']' or '}' && depth > 0)
            {
                depth--;
            }

            previous = c;
        }
    }
}
