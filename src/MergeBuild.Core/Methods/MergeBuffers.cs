namespace MergeBuild.Methods;

/// <summary>
/// Float32 working buffers for one chunk of one tensor: an input per model (recipe order), the base when the
/// method has one, and the output. A worker thread owns one set and reuses it across chunks.
/// </summary>
public sealed class MergeBuffers
{
    public MergeBuffers(int inputCount, bool hasBase, int capacity)
    {
        Inputs = new float[inputCount][];
        for (var i = 0; i < inputCount; i++)
        {
            Inputs[i] = new float[capacity];
        }

        Base = hasBase ? new float[capacity] : null;
        Output = new float[capacity];
        Scratch = new float[capacity];
        Capacity = capacity;
    }

    public int Capacity { get; }

    public float[][] Inputs { get; }

    public float[]? Base { get; }

    public float[] Output { get; }

    /// <summary>Working space a method may use freely within one call.</summary>
    public float[] Scratch { get; }
}
