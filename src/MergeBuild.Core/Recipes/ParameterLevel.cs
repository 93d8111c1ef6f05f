namespace MergeBuild.Recipes;

/// <summary>Where a <c>parameters:</c> block sits, which decides the parameters it may set.</summary>
internal enum ParameterLevel
{
    /// <summary>The recipe's top-level block: any parameter of the method.</summary>
    TopLevel,

    /// <summary>An output slice's block: any parameter of the method.</summary>
    Slice,

    /// <summary>A model's or slice source's own block: per-model parameters only (mergekit never reads global ones there).</summary>
    Model,
}
