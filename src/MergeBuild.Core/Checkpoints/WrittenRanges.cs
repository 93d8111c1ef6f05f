namespace MergeBuild.Checkpoints;

/// <summary>
/// The byte ranges of one tensor written so far, merged into disjoint intervals. Counting bytes would be fooled
/// by a slice written twice; tracking ranges proves every byte was written at least once. Thread-safe.
/// </summary>
internal sealed class WrittenRanges
{
    private readonly List<(long Start, long End)> _ranges = [];
    private readonly Lock _lock = new();

    /// <summary>Records that <c>[start, end)</c> was written.</summary>
    public void Add(long start, long end)
    {
        if (start >= end)
        {
            return;
        }

        lock (_lock)
        {
            // Binary search for the first interval that ends at or after start (intervals are disjoint and
            // sorted, so their ends are sorted too): everything before it is untouched.
            int low = 0, high = _ranges.Count;
            while (low < high)
            {
                var mid = (low + high) / 2;
                if (_ranges[mid].End < start)
                {
                    low = mid + 1;
                }
                else
                {
                    high = mid;
                }
            }

            var i = low;

            // Swallow every interval that overlaps or touches [start, end).
            var j = i;
            while (j < _ranges.Count && _ranges[j].Start <= end)
            {
                start = Math.Min(start, _ranges[j].Start);
                end = Math.Max(end, _ranges[j].End);
                j++;
            }

            _ranges.RemoveRange(i, j - i);
            _ranges.Insert(i, (start, end));
        }
    }

    /// <summary>The written ranges, disjoint and in order.</summary>
    public (long Start, long End)[] Snapshot()
    {
        lock (_lock)
        {
            return [.. _ranges];
        }
    }

    /// <summary>The number of distinct bytes written.</summary>
    public long Covered
    {
        get
        {
            lock (_lock)
            {
                return _ranges.Sum(r => r.End - r.Start);
            }
        }
    }
}
