namespace MergeBuild.Diagnostics;

/// <summary>
/// Every error code MergeBuild reports. Codes are stable: tools and docs refer to them.
/// MB1xxx checkpoints and model folders, MB2xxx recipes, MB3xxx validation and planning,
/// MB4xxx execution and output, MB5xxx command line, MB6xxx evaluation.
/// </summary>
public static class ErrorCodes
{
    // Checkpoints (safetensors, shard indexes, model folders).
    public const string CheckpointNotFound = "MB1001";
    public const string PickleRefused = "MB1002";
    public const string MalformedSafetensorsHeader = "MB1003";
    public const string InvalidTensorEntry = "MB1004";
    public const string MalformedShardIndex = "MB1005";
    public const string MissingTensor = "MB1006";
    public const string MalformedConfig = "MB1007";
    public const string CheckpointIo = "MB1008";

    // Recipes (YAML syntax and schema).
    public const string RecipeNotFound = "MB2001";
    public const string RecipeSyntax = "MB2002";
    public const string UnknownKey = "MB2003";
    public const string InvalidValue = "MB2004";
    public const string MissingKey = "MB2005";
    public const string UnknownMethod = "MB2006";
    public const string UnknownParameter = "MB2007";
    public const string ConflictingKeys = "MB2008";

    // Validation and planning (recipe against the models' headers and configs).
    public const string ModelNotFound = "MB3001";
    public const string ArchitectureMismatch = "MB3002";
    public const string ShapeMismatch = "MB3003";
    public const string InvalidLayerRange = "MB3004";
    public const string MissingParameter = "MB3005";
    public const string ParameterOutOfRange = "MB3006";
    public const string WrongModelCount = "MB3007";
    public const string MissingBaseModel = "MB3008";
    public const string UnsupportedMethod = "MB3009";
    public const string UnsupportedDType = "MB3010";
    public const string TensorMissingInModel = "MB3011";
    public const string VocabularyMismatch = "MB3012";
    public const string TokenizerUnsupported = "MB3013";
    public const string TokenNotFound = "MB3014";

    // Execution and output.
    public const string OutputNotWritable = "MB4001";
    public const string OutputIo = "MB4002";
    public const string Cancelled = "MB4003";

    // The merge cache (local store and NuGet feeds). Damage is a warning and the merge is rebuilt; settings are errors.
    public const string CacheEntryDamaged = "MB4101";
    public const string CachePackageRejected = "MB4102";
    public const string CacheFeedUnavailable = "MB4103";
    public const string CacheSettings = "MB4104";
    public const string CacheUnavailable = "MB4105";

    // Command line.
    public const string InvalidOption = "MB5001";

    // Evaluation (inference engine, tokenizers, eval sets).
    public const string UnsupportedModel = "MB6001";
    public const string UnsupportedTokenizer = "MB6002";
    public const string MalformedTokenizer = "MB6003";
    public const string MalformedEvalSet = "MB6004";
    public const string GateFailed = "MB6101";
    public const string ExternalGateFailed = "MB6102";
}
