using System.Net;
using System.Text;

namespace MergeBuild.Gates;

/// <summary>A self-contained HTML page (inline SVG, no scripts, no external resources) charting a gate report.</summary>
internal static class GateChart
{
    private const int BarWidth = 26;
    private const int Gap = 6;
    private const int ChartHeight = 220;

    public static string Html(GateReport report)
    {
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Evaluation gates</title>\n")
            .Append("<style>body{font-family:system-ui,sans-serif;margin:2em;color:#222}.pass{color:#1a7f37}.fail{color:#cf222e}")
            .Append("table{border-collapse:collapse}td,th{padding:4px 10px;border-bottom:1px solid #ddd;text-align:left}")
            .Append(".legend span{display:inline-block;width:12px;height:12px;margin:0 4px 0 12px;vertical-align:middle}</style>\n")
            .Append("</head><body>\n");
        html.Append(Formatting.Invariant(
            $"<h1>Evaluation gates: <span class=\"{(report.Passed ? "pass\">passed" : "fail\">failed")}</span></h1>\n"));
        html.Append(Formatting.Invariant(
            $"<p>Recipe <code>{Encode(report.Recipe)}</code>, model <code>{Encode(report.Model)}</code>.</p>\n"));
        html.Append("<p class=\"legend\"><span style=\"background:#8c959f\"></span>base<span style=\"background:#54aeff\"></span>")
            .Append("inputs<span style=\"background:#1a7f37\"></span>merge (passed)<span style=\"background:#cf222e\"></span>merge (failed)")
            .Append("<span style=\"background:#bf8700;height:3px\"></span>threshold</p>\n");
        foreach (var task in report.Tasks)
        {
            html.Append(Chart(task));
        }

        html.Append("</body></html>\n");
        return html.ToString();
    }

    private static string Chart(GateOutcome task)
    {
        var bars = task.Baselines.Where(b => b.Role == "base")
            .Concat(task.Baselines.Where(b => b.Role == "input"))
            .Append(new ModelScore("merge", "merge", task.Score, task.N)).ToList();
        var top = Math.Max(bars.Max(b => b.Score), double.IsFinite(task.Threshold) ? task.Threshold : 0);
        top = task.Gate.HigherIsBetter && top <= 1 ? 1 : top * 1.1;
        if (top <= 0)
        {
            top = 1;
        }

        var width = bars.Count * (BarWidth + Gap) + 60;
        var svg = new StringBuilder();
        svg.Append(Formatting.Invariant(
            $"<h2>{Encode(task.Gate.Name)} <small>({Encode(task.Gate.MetricName)}, {task.N} examples)</small> <span class=\"{(task.Passed ? "pass\">pass" : "fail\">FAIL")}</span></h2>\n"));
        svg.Append(Formatting.Invariant(
            $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{ChartHeight + 70}\" role=\"img\" aria-label=\"{Encode(task.Summary)}\">\n"));
        svg.Append(Formatting.Invariant($"<line x1=\"40\" y1=\"{ChartHeight}\" x2=\"{width}\" y2=\"{ChartHeight}\" stroke=\"#999\"/>\n"));
        for (var i = 0; i < bars.Count; i++)
        {
            var bar = bars[i];
            var height = Math.Max(0, bar.Score / top * (ChartHeight - 10));
            var x = 45 + i * (BarWidth + Gap);
            var color = bar.Role switch
            {
                "base" => "#8c959f",
                "input" => "#54aeff",
                _ => task.Passed ? "#1a7f37" : "#cf222e",
            };
            svg.Append(Formatting.Invariant(
                $"<rect x=\"{x}\" y=\"{ChartHeight - height:0.#}\" width=\"{BarWidth}\" height=\"{height:0.#}\" fill=\"{color}\"><title>{Encode(bar.Model)}: {bar.Score:0.###}</title></rect>\n"));
            svg.Append(Formatting.Invariant(
                $"<text x=\"{x + BarWidth / 2}\" y=\"{ChartHeight - height - 3:0.#}\" font-size=\"10\" text-anchor=\"middle\">{bar.Score:0.##}</text>\n"));
            svg.Append(Formatting.Invariant(
                $"<text x=\"{x + BarWidth / 2}\" y=\"{ChartHeight + 12}\" font-size=\"10\" text-anchor=\"end\" transform=\"rotate(-40 {x + BarWidth / 2} {ChartHeight + 12})\">{Encode(bar.Model)}</text>\n"));
        }

        if (double.IsFinite(task.Threshold))
        {
            var y = ChartHeight - task.Threshold / top * (ChartHeight - 10);
            svg.Append(Formatting.Invariant(
                $"<line x1=\"40\" y1=\"{y:0.#}\" x2=\"{width}\" y2=\"{y:0.#}\" stroke=\"#bf8700\" stroke-width=\"2\" stroke-dasharray=\"6 3\"><title>threshold {task.Threshold:0.###} ({Encode(task.ThresholdText)})</title></line>\n"));
        }

        svg.Append("</svg>\n");
        return svg.ToString();
    }

    private static string Encode(string text) => WebUtility.HtmlEncode(text);
}
