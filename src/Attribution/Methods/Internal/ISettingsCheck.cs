namespace Attribution.Methods.Internal;

/// <summary>
/// A method that is no <see cref="TextAttributor"/> (LIME, the perturbation methods) whose own settings can be checked
/// without a model or texts: <see cref="MethodRunner"/> checks them with the gradient methods' before any forward pass.
/// </summary>
internal interface ISettingsCheck
{
    /// <summary>Throws the method's own refusal of a bad setting (the exception names the setting).</summary>
    void CheckSettings();
}
