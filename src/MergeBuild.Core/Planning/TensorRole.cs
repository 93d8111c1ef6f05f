namespace MergeBuild.Planning;

/// <summary>Where a tensor sits in a decoder: before the layers, in one, or after them.</summary>
public enum TensorRole
{
    /// <summary>Embeddings and anything else before the first layer; merged from the first slice at t = 0.</summary>
    PreLayer,

    /// <summary>A weight of one numbered layer.</summary>
    Layer,

    /// <summary>Final norm, output head and the rest after the last layer; merged from the last slice at t = 0.</summary>
    PostLayer,
}
