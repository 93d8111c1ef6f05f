using MergeBuild.Eval.Tokenization;
using MergeBuild.Tests;

namespace MergeBuild.Eval.Tests.Tokenization;

/// <summary>Writes a tokenizer.json (and optionally tokenizer_config.json) into a temp folder and loads it.</summary>
internal static class TokenizerFiles
{
    public static HuggingFaceTokenizer Load(TempFolder temp, string tokenizerJson, string? tokenizerConfig = null)
    {
        File.WriteAllText(temp.Combine("tokenizer.json"), tokenizerJson);
        if (tokenizerConfig is not null)
        {
            File.WriteAllText(temp.Combine("tokenizer_config.json"), tokenizerConfig);
        }

        return TokenizerLoader.Load(temp.Path);
    }
}
