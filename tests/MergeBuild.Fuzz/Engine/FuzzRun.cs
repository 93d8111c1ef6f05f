using System.Diagnostics;
using System.IO.Hashing;
using System.Text;

namespace MergeBuild.Fuzzing;

/// <summary>
/// A seeded mutational fuzzing loop over one <see cref="IFuzzTarget"/>. The corpus keeps one input per new outcome
/// class (see <see cref="Outcome"/>), so it grows towards every distinct way the parser accepts or rejects input.
/// Any exception other than a <c>MergeBuildException</c> is a crash; an input running past the hang timeout is a
/// hang, spotted by a watchdog thread. Before each input runs it is written to <c>inflight.bin</c>, so an input that
/// kills the process (a stack overflow cannot be caught) is still on disk for the next run to report.
/// </summary>
public sealed class FuzzRun
{
    private const string InflightFile = "inflight.bin";

    private readonly IFuzzTarget _target;
    private readonly FuzzOptions _options;
    private readonly List<byte[]> _corpus = [];
    private readonly HashSet<string> _savedNames = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _counts = new(StringComparer.Ordinal);
    private readonly List<string> _crashReports = [];
    private readonly Random _random;
    private readonly Mutator _mutator;
    private FileStream? _inflight;
    private long _execs;
    private long _crashes;
    private long _hangs;
    private long _savedBytes;
    private double _slowestMs;

    // Read by the watchdog: the input now running and when it started (0 when none is running).
    private volatile byte[]? _current;
    private long _currentStart;
    private volatile bool _warm;

    public FuzzRun(IFuzzTarget target, FuzzOptions options)
    {
        _target = target;
        _options = options;
        _random = new Random(options.Seed);
        _mutator = new Mutator(_random, target.Dictionary, () => _corpus.Count == 0 ? null : _corpus[_random.Next(_corpus.Count)])
        {
            MaxLength = options.MaxInputLength,
        };
    }

    /// <summary>Runs until the duration or exec limit is reached and returns the numbers.</summary>
    public FuzzSummary Run()
    {
        var wall = Stopwatch.StartNew();
        var cpuStart = Process.GetCurrentProcess().TotalProcessorTime;
        if (_options.ArtifactsFolder is { } artifacts)
        {
            Directory.CreateDirectory(artifacts);
            ReportDeadInflight(artifacts);
            _inflight = new FileStream(Path.Combine(artifacts, InflightFile), FileMode.Create, FileAccess.Write, FileShare.Read);
        }

        using var stop = new CancellationTokenSource();
        var watchdog = new Thread(() => Watch(stop.Token)) { IsBackground = true, Name = "fuzz watchdog" };
        watchdog.Start();
        try
        {
            LoadCorpus();

            // Loading the corpus also JIT-compiles the parsers; time measured from here on is the inputs' own.
            _slowestMs = 0;
            _warm = true;
            var lastLog = wall.Elapsed;
            while (wall.Elapsed < _options.Duration && (_options.MaxExecs == 0 || _execs < _options.MaxExecs))
            {
                var parent = _corpus[_random.Next(_corpus.Count)];
                Execute(_target.Mutate(parent, _mutator), keepIfNew: true);
                if (_options.Log is { } log && wall.Elapsed - lastLog > TimeSpan.FromMinutes(1))
                {
                    lastLog = wall.Elapsed;
                    log.WriteLine($"[{_target.Name}] {wall.Elapsed:hh\\:mm\\:ss} execs {_execs} corpus {_corpus.Count} classes {_counts.Count} crashes {_crashes} hangs {_hangs}");
                    log.Flush();
                }
            }
        }
        finally
        {
            stop.Cancel();
            watchdog.Join();
            _inflight?.Dispose();
            if (_options.ArtifactsFolder is { } folder)
            {
                File.Delete(Path.Combine(folder, InflightFile));
            }
        }

        var summary = new FuzzSummary(_target.Name, _options.Seed, wall.Elapsed,
            Process.GetCurrentProcess().TotalProcessorTime - cpuStart, _execs, _corpus.Count, _savedNames.Count,
            _savedBytes, new Dictionary<string, long>(_counts), _crashes, _hangs, _slowestMs, [.. _crashReports]);
        if (_options.ArtifactsFolder is { } outFolder)
        {
            File.WriteAllText(Path.Combine(outFolder, "summary.txt"), summary.ToString());
            File.WriteAllLines(Path.Combine(outFolder, "outcomes.txt"),
                _counts.OrderBy(e => e.Key, StringComparer.Ordinal).Select(e => $"{e.Value,10}  {e.Key}"));
        }

        return summary;
    }

    private void LoadCorpus()
    {
        var loaded = 0;
        if (_options.CorpusFolder is { } folder && Directory.Exists(folder))
        {
            foreach (var file in Directory.GetFiles(folder).Order(StringComparer.Ordinal))
            {
                var bytes = File.ReadAllBytes(file);
                _savedNames.Add(Path.GetFileName(file));
                _savedBytes += bytes.Length;
                Execute(bytes, keepIfNew: false);
                _corpus.Add(bytes);
                loaded++;
            }
        }

        foreach (var seed in _target.Seeds())
        {
            Execute(seed, keepIfNew: true);
            if (loaded == 0 && !_corpus.Contains(seed))
            {
                // Seeds are always mutated from, even when their outcome class is already known.
                _corpus.Add(seed);
            }
        }
    }

    private void Execute(byte[] input, bool keepIfNew)
    {
        WriteInflight(input);
        Outcome outcome;
        var start = Stopwatch.GetTimestamp();
        _current = input;
        Interlocked.Exchange(ref _currentStart, start);
        try
        {
            outcome = Outcome.Success(_target.Run(input));
        }
#pragma warning disable CA1031 // Every exception is an outcome to classify; none may escape the loop.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            outcome = Outcome.Of(ex);
        }
        finally
        {
            Interlocked.Exchange(ref _currentStart, 0);
            _current = null;
        }

        _slowestMs = Math.Max(_slowestMs, Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        _execs++;
        var isNew = !_counts.ContainsKey(outcome.Class);
        _counts[outcome.Class] = _counts.GetValueOrDefault(outcome.Class) + 1;
        if (!outcome.Allowed)
        {
            _crashes++;
            RecordCrash(input, outcome);
        }

        if (isNew && keepIfNew)
        {
            _corpus.Add(input);
            Save(input);
        }
    }

    private void WriteInflight(byte[] input)
    {
        if (_inflight is null)
        {
            return;
        }

        // write(2) puts the bytes in the page cache, which outlives the process; no flush to disk is needed.
        _inflight.SetLength(input.Length);
        _inflight.Position = 0;
        _inflight.Write(input);
        _inflight.Flush();
    }

    private void Save(byte[] input)
    {
        if (_options.CorpusFolder is not { } folder || _savedNames.Count >= _options.MaxCorpusFiles ||
            _savedBytes + input.Length > _options.MaxCorpusBytes)
        {
            return;
        }

        var name = NameOf(input);
        if (_savedNames.Add(name))
        {
            Directory.CreateDirectory(folder);
            File.WriteAllBytes(Path.Combine(folder, name), input);
            _savedBytes += input.Length;
        }
    }

    private void RecordCrash(byte[] input, Outcome outcome)
    {
        var report = $"{outcome.Class}: {outcome.Error}";
        if (_crashReports.Count < 20)
        {
            _crashReports.Add(report);
            _options.Log?.WriteLine($"[{_target.Name}] CRASH {report}");
        }

        WriteArtifact("crashes", input, report);
    }

    private void WriteArtifact(string kind, byte[] input, string report)
    {
        if (_options.ArtifactsFolder is not { } artifacts)
        {
            return;
        }

        var folder = Path.Combine(artifacts, kind);
        Directory.CreateDirectory(folder);
        var name = NameOf(input);
        File.WriteAllBytes(Path.Combine(folder, name), input);
        File.WriteAllText(Path.Combine(folder, name + ".txt"), report);
    }

    private void ReportDeadInflight(string artifacts)
    {
        var path = Path.Combine(artifacts, InflightFile);
        if (File.Exists(path))
        {
            var input = File.ReadAllBytes(path);
            _crashes++;
            var report = "the previous run died while running this input (stack overflow, out of memory or a kill)";
            _crashReports.Add(report);
            WriteArtifact("crashes", input, report);
        }
    }

    private void Watch(CancellationToken stop)
    {
        byte[]? reported = null;
        while (!stop.WaitHandle.WaitOne(100))
        {
            var start = Interlocked.Read(ref _currentStart);
            var input = _current;
            if (!_warm || start == 0 || input is null || ReferenceEquals(input, reported) ||
                Stopwatch.GetElapsedTime(start) < _options.HangTimeout)
            {
                continue;
            }

            reported = input;
            Interlocked.Increment(ref _hangs);
            _options.Log?.WriteLine($"[{_target.Name}] HANG: an input has run for more than {_options.HangTimeout.TotalSeconds} s");
            WriteArtifact("hangs", input, $"ran longer than {_options.HangTimeout}");
        }
    }

    private static string NameOf(byte[] input) => Convert.ToHexStringLower(XxHash64.Hash(input)) + ".bin";

    /// <summary>Decodes input bytes as the text parsers see them (invalid UTF-8 becomes U+FFFD).</summary>
    public static string Text(byte[] input) => Encoding.UTF8.GetString(input);
}
