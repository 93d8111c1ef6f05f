using MergeBuild.Checkpoints;

namespace MergeBuild.Planning;

/// <summary>One model's tensor table, grouped by role and layer for planning.</summary>
internal sealed class ModelTensors
{
    private readonly Dictionary<int, List<TensorName>> byLayer = [];

    public ModelTensors(CheckpointFiles files)
    {
        Files = files;
        foreach (var tensor in files.Tensors)
        {
            var name = TensorName.Parse(tensor.Name);
            switch (name.Role)
            {
                case TensorRole.PreLayer:
                    Pre.Add(name);
                    break;
                case TensorRole.PostLayer:
                    Post.Add(name);
                    break;
                default:
                    if (!byLayer.TryGetValue(name.Layer, out var list))
                    {
                        byLayer[name.Layer] = list = [];
                    }

                    list.Add(name);
                    break;
            }
        }
    }

    public CheckpointFiles Files { get; }

    public List<TensorName> Pre { get; } = [];

    public List<TensorName> Post { get; } = [];

    public IReadOnlyList<TensorName> Layer(int layer) => byLayer.TryGetValue(layer, out var list) ? list : [];
}
