using System.Collections;
using System.Diagnostics.CodeAnalysis;
using MergeBuild.Diagnostics;

namespace MergeBuild.Recipes;

/// <summary>
/// A <c>parameters:</c> block: parameter name to setting, in recipe order, remembering where each name was written.
/// Names are compared exactly (mergekit's names are lower-case identifiers).
/// </summary>
[SuppressMessage("Naming", "CA1710:Identifiers should have correct suffix",
    Justification = "The name mirrors mergekit's `parameters:` block and is part of the agreed public API.")]
public sealed class ParameterMap : IReadOnlyDictionary<string, ParameterSetting>
{
    private readonly Dictionary<string, ParameterSetting> _settings;
    private readonly Dictionary<string, SourceLocation> _nameLocations;
    private readonly List<string> _order;

    /// <summary>Creates a map; <paramref name="entries"/> must not repeat a name.</summary>
    public ParameterMap(IEnumerable<KeyValuePair<string, ParameterSetting>> entries, SourceLocation? location = null,
        IReadOnlyDictionary<string, SourceLocation>? nameLocations = null)
    {
        ArgumentNullException.ThrowIfNull(entries);
        _settings = new Dictionary<string, ParameterSetting>(StringComparer.Ordinal);
        _order = [];
        foreach (var (name, setting) in entries)
        {
            _settings.Add(name, setting);
            _order.Add(name);
        }

        _nameLocations = new Dictionary<string, SourceLocation>(StringComparer.Ordinal);
        foreach (var name in _order)
        {
            _nameLocations[name] = nameLocations is not null && nameLocations.TryGetValue(name, out var at) ? at : _settings[name].Location;
        }

        Location = location;
    }

    /// <summary>A map with no parameters (what an absent <c>parameters:</c> reads as).</summary>
    public static ParameterMap Empty { get; } = new([]);

    /// <summary>Where the <c>parameters:</c> block starts, or null when it was not written.</summary>
    public SourceLocation? Location { get; }

    /// <summary>Where the parameter's name was written (the setting's own location when unknown).</summary>
    public SourceLocation NameLocation(string name) => _nameLocations[name];

    public ParameterSetting this[string key] => _settings[key];

    public IEnumerable<string> Keys => _order;

    public IEnumerable<ParameterSetting> Values => _order.Select(name => _settings[name]);

    public int Count => _order.Count;

    public bool ContainsKey(string key) => _settings.ContainsKey(key);

    public bool TryGetValue(string key, [MaybeNullWhen(false)] out ParameterSetting value) => _settings.TryGetValue(key, out value);

    public IEnumerator<KeyValuePair<string, ParameterSetting>> GetEnumerator() =>
        _order.Select(name => new KeyValuePair<string, ParameterSetting>(name, _settings[name])).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
