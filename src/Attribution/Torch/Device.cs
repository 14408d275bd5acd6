namespace Attribution.Torch;

/// <summary>Where a tensor lives, numbered as libtorch's c10::DeviceType.</summary>
public enum DeviceType
{
    /// <summary>Host memory.</summary>
    CPU = 0,
    /// <summary>An NVIDIA GPU (needs a CUDA build of libtorch).</summary>
    CUDA = 1,
}

/// <summary>A device: type plus index (-1 = the current one).</summary>
/// <param name="Type">Device type.</param>
/// <param name="Index">Device ordinal, or -1 for the default device of that type.</param>
public readonly record struct Device(DeviceType Type, int Index = -1)
{
    /// <summary>Parses "cpu", "cuda" or "cuda:N".</summary>
    public static Device Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var parts = text.Trim().ToLowerInvariant().Split(':');
        var type = parts[0] switch
        {
            "cpu" => DeviceType.CPU,
            "cuda" => DeviceType.CUDA,
            _ => throw new ArgumentException($"unknown device '{text}': use cpu, cuda or cuda:N", nameof(text)),
        };
        if (parts.Length == 1)
        {
            return new Device(type);
        }

        if (parts.Length != 2 || !int.TryParse(parts[1], out var index) || index < 0)
        {
            throw new ArgumentException($"bad device '{text}': use cpu, cuda or cuda:N", nameof(text));
        }

        return new Device(type, index);
    }

    /// <inheritdoc />
    public override string ToString() => Index < 0 ? Type.ToString().ToLowerInvariant() : $"{Type.ToString().ToLowerInvariant()}:{Index}";
}
