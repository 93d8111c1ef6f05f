namespace MergeBuild.Eval.Inference;

/// <summary>
/// The keys and values of every position a session has processed, per layer: row t of a layer holds the rotated
/// key (or the value) of position t for all key/value heads, [kv_heads × head_dim] floats. Grows by doubling.
/// </summary>
internal sealed class KvCache
{
    private readonly float[][] _keys;
    private readonly float[][] _values;

    public KvCache(int layers, int rowWidth)
    {
        RowWidth = rowWidth;
        _keys = new float[layers][];
        _values = new float[layers][];
        for (var l = 0; l < layers; l++)
        {
            _keys[l] = [];
            _values[l] = [];
        }
    }

    /// <summary>Floats per position: key/value heads × head dimension.</summary>
    public int RowWidth { get; }

    /// <summary>Positions the arrays can hold without growing.</summary>
    public int Capacity => _keys.Length == 0 ? 0 : _keys[0].Length / RowWidth;

    public float[] Keys(int layer) => _keys[layer];

    public float[] Values(int layer) => _values[layer];

    /// <summary>A copy holding the first <paramref name="positions"/> positions (room for more is added on use).</summary>
    public KvCache Copy(int positions)
    {
        var copy = new KvCache(_keys.Length, RowWidth);
        copy.EnsureCapacity(positions);
        for (var l = 0; l < _keys.Length; l++)
        {
            Array.Copy(_keys[l], copy._keys[l], positions * RowWidth);
            Array.Copy(_values[l], copy._values[l], positions * RowWidth);
        }

        return copy;
    }

    /// <summary>Makes room for <paramref name="positions"/> positions, keeping what is cached.</summary>
    public void EnsureCapacity(int positions)
    {
        if (positions <= Capacity)
        {
            return;
        }

        var target = Math.Max(positions, Math.Max(32, Capacity * 2));
        for (var l = 0; l < _keys.Length; l++)
        {
            Array.Resize(ref _keys[l], target * RowWidth);
            Array.Resize(ref _values[l], target * RowWidth);
        }
    }
}
