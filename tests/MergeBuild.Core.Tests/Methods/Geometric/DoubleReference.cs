namespace MergeBuild.Core.Tests.Methods.Geometric;

/// <summary>
/// The geometric merges written out in double precision straight from their formulas, sharing nothing with the
/// engine: expected values for tests on tensors too large to work out by hand.
/// </summary>
internal static class DoubleReference
{
    public static double Norm(double[] v) => Math.Sqrt(v.Sum(x => x * x));

    public static double Dot(double[] a, double[] b) => a.Select((x, i) => x * b[i]).Sum();

    public static double[] Sub(double[] a, double[] b) => a.Select((x, i) => x - b[i]).ToArray();

    public static double[] Add(double[] a, double[] b) => a.Select((x, i) => x + b[i]).ToArray();

    public static double[] Scale(double[] a, double s) => a.Select(x => x * s).ToArray();

    public static double[] ToDouble(float[] v) => v.Select(x => (double)x).ToArray();

    /// <summary>Sine-weighted interpolation of the unnormalised vectors (no colinear fallback).</summary>
    public static double[] Slerp(double t, double[] v0, double[] v1)
    {
        var theta = Math.Acos(Math.Clamp(Dot(v0, v1) / (Norm(v0) * Norm(v1)), -1, 1));
        var s0 = Math.Sin((1 - t) * theta) / Math.Sin(theta);
        var s1 = Math.Sin(t * theta) / Math.Sin(theta);
        return Add(Scale(v0, s0), Scale(v1, s1));
    }

    public static double[] Lerp(double t, double[] v0, double[] v1) => Add(Scale(v0, 1 - t), Scale(v1, t));

    /// <summary>The Karcher mean with equal weights, every input of nonzero norm.</summary>
    public static double[] Karcher(double[][] xs, int maxIter, double tol)
    {
        var n = xs.Length;
        var norms = xs.Select(Norm).ToArray();
        var units = xs.Select((x, i) => Scale(x, 1 / norms[i])).ToArray();
        var dim = xs[0].Length;
        var u = Normalise(Enumerable.Range(0, dim).Select(e => units.Sum(x => x[e]) / n).ToArray());
        for (var iteration = 0; iteration < maxIter; iteration++)
        {
            var tangent = new double[dim];
            foreach (var x in units)
            {
                var dot = Math.Clamp(Dot(u, x), -1, 1);
                var theta = Math.Acos(dot);
                if (theta < tol)
                {
                    continue;
                }

                for (var e = 0; e < dim; e++)
                {
                    tangent[e] += theta / Math.Sin(theta) * (x[e] - dot * u[e]) / n;
                }
            }

            var length = Norm(tangent);
            if (length < tol)
            {
                break;
            }

            u = Normalise(Add(Scale(u, Math.Cos(length)), Scale(tangent, Math.Sin(length) / length)));
        }

        return Scale(u, norms.Average());
    }

    /// <summary>Model stock over the whole tensor: t from the mean pairwise cosine of the task vectors.</summary>
    public static double[] ModelStock(double[] b, double[][] xs)
    {
        var n = xs.Length;
        var offsets = xs.Select(x => Sub(x, b)).ToArray();
        var cosines = new List<double>();
        for (var i = 0; i < n; i++)
        {
            for (var j = i + 1; j < n; j++)
            {
                cosines.Add(Dot(offsets[i], offsets[j]) / (Norm(offsets[i]) * Norm(offsets[j])));
            }
        }

        var cos = cosines.Average();
        var t = n * cos / (1 + (n - 1) * cos);
        var mean = Enumerable.Range(0, b.Length).Select(e => xs.Average(x => x[e])).ToArray();
        return Add(Scale(mean, t), Scale(b, 1 - t));
    }

    /// <summary>Multi-slerp of task vectors: normalised weighted mean direction times the weighted mean norm.</summary>
    public static double[] Multislerp(double[] b, double[][] xs, double[] weights)
    {
        var w = weights.Select(x => x / weights.Sum()).ToArray();
        var tau = xs.Select(x => Sub(x, b)).ToArray();
        var norms = tau.Select(Norm).ToArray();
        var mean = new double[b.Length];
        for (var i = 0; i < xs.Length; i++)
        {
            mean = Add(mean, Scale(tau[i], w[i] / norms[i]));
        }

        // The tangent-space barycentre of the unit vectors around their normalised mean is the mean itself.
        var scale = norms.Select((x, i) => x * w[i]).Sum();
        return Add(b, Scale(Normalise(mean), scale));
    }

    private static double[] Normalise(double[] v) => Scale(v, 1 / Norm(v));
}
