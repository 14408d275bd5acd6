using System.Globalization;
using System.Text.Json;

namespace Attribution.Tests.Salience;

/// <summary>
/// A validator for the subset of JSON Schema (draft 2020-12) that docs/json-schema.json uses: type, required,
/// properties, additionalProperties, items, minItems, maxItems, minimum, maximum, enum, const, oneOf, anyOf, not, and $ref to
/// "#/$defs/...". Annotations ($schema, $id, title, description) are ignored; any other keyword is an error, so the
/// schema cannot silently rely on something this validator does not check.
/// </summary>
internal sealed class JsonSchemaSubset
{
    private static readonly HashSet<string> Annotations = ["$schema", "$id", "$defs", "title", "description", "$comment"];

    private static readonly HashSet<string> Keywords =
    [
        "type", "required", "properties", "additionalProperties", "items", "minItems", "maxItems", "minimum", "maximum", "enum",
        "const", "oneOf", "anyOf", "not", "$ref",
    ];

    private readonly JsonElement root;

    public JsonSchemaSubset(JsonElement root) => this.root = root;

    /// <summary>The violations of <paramref name="instance"/>, each as "path: message"; empty when valid.</summary>
    public List<string> Validate(JsonElement instance)
    {
        var errors = new List<string>();
        Validate(root, instance, "$", errors);
        return errors;
    }

    private void Validate(JsonElement schema, JsonElement instance, string path, List<string> errors)
    {
        if (schema.ValueKind == JsonValueKind.True)
        {
            return;
        }

        if (schema.ValueKind == JsonValueKind.False)
        {
            errors.Add($"{path}: no value is allowed here");
            return;
        }

        if (schema.ValueKind != JsonValueKind.Object)
        {
            throw new InvalidOperationException($"schema at {path} is not an object or boolean");
        }

        foreach (var keyword in schema.EnumerateObject())
        {
            if (!Annotations.Contains(keyword.Name) && !Keywords.Contains(keyword.Name))
            {
                throw new NotSupportedException($"the schema uses '{keyword.Name}', which this validator does not implement");
            }
        }

        if (schema.TryGetProperty("$ref", out var reference))
        {
            Validate(Resolve(reference.GetString()!), instance, path, errors);
        }

        if (schema.TryGetProperty("type", out var type))
        {
            var types = type.ValueKind == JsonValueKind.Array ? type.EnumerateArray().Select(t => t.GetString()!).ToList() : [type.GetString()!];
            if (!types.Any(t => HasType(instance, t)))
            {
                errors.Add($"{path}: expected {string.Join(" or ", types)}, found {instance.ValueKind}");
                return;
            }
        }

        if (schema.TryGetProperty("const", out var constant) && !JsonEquals(constant, instance))
        {
            errors.Add($"{path}: expected {constant.GetRawText()}, found {instance.GetRawText()}");
        }

        if (schema.TryGetProperty("enum", out var values) && !values.EnumerateArray().Any(v => JsonEquals(v, instance)))
        {
            errors.Add($"{path}: {instance.GetRawText()} is not one of {values.GetRawText()}");
        }

        if (schema.TryGetProperty("minimum", out var minimum) && instance.ValueKind == JsonValueKind.Number && instance.GetDouble() < minimum.GetDouble())
        {
            errors.Add($"{path}: {instance.GetRawText()} is less than {minimum.GetRawText()}");
        }

        if (schema.TryGetProperty("maximum", out var maximum) && instance.ValueKind == JsonValueKind.Number && instance.GetDouble() > maximum.GetDouble())
        {
            errors.Add($"{path}: {instance.GetRawText()} is greater than {maximum.GetRawText()}");
        }

        if (instance.ValueKind == JsonValueKind.Object)
        {
            Object(schema, instance, path, errors);
        }

        if (instance.ValueKind == JsonValueKind.Array)
        {
            Array(schema, instance, path, errors);
        }

        if (schema.TryGetProperty("anyOf", out var anyOf) && !anyOf.EnumerateArray().Any(s => Passes(s, instance, path)))
        {
            errors.Add($"{path}: matches none of anyOf");
        }

        if (schema.TryGetProperty("oneOf", out var oneOf))
        {
            var matches = oneOf.EnumerateArray().Count(s => Passes(s, instance, path));
            if (matches != 1)
            {
                errors.Add($"{path}: matches {matches} of oneOf, not exactly 1");
            }
        }

        if (schema.TryGetProperty("not", out var not) && Passes(not, instance, path))
        {
            errors.Add($"{path}: matches the schema under 'not'");
        }
    }

    private void Object(JsonElement schema, JsonElement instance, string path, List<string> errors)
    {
        if (schema.TryGetProperty("required", out var required))
        {
            foreach (var name in required.EnumerateArray())
            {
                if (!instance.TryGetProperty(name.GetString()!, out _))
                {
                    errors.Add($"{path}: missing required property '{name.GetString()}'");
                }
            }
        }

        schema.TryGetProperty("properties", out var properties);
        var hasAdditional = schema.TryGetProperty("additionalProperties", out var additional);
        foreach (var property in instance.EnumerateObject())
        {
            var at = $"{path}.{property.Name}";
            if (properties.ValueKind == JsonValueKind.Object && properties.TryGetProperty(property.Name, out var propertySchema))
            {
                Validate(propertySchema, property.Value, at, errors);
            }
            else if (hasAdditional)
            {
                Validate(additional, property.Value, at, errors);
            }
        }
    }

    private void Array(JsonElement schema, JsonElement instance, string path, List<string> errors)
    {
        var length = instance.GetArrayLength();
        if (schema.TryGetProperty("minItems", out var minItems) && length < minItems.GetInt32())
        {
            errors.Add($"{path}: {length} items, fewer than {minItems.GetInt32()}");
        }

        if (schema.TryGetProperty("maxItems", out var maxItems) && length > maxItems.GetInt32())
        {
            errors.Add($"{path}: {length} items, more than {maxItems.GetInt32()}");
        }

        if (schema.TryGetProperty("items", out var items))
        {
            var i = 0;
            foreach (var item in instance.EnumerateArray())
            {
                Validate(items, item, $"{path}[{i++}]", errors);
            }
        }
    }

    private bool Passes(JsonElement schema, JsonElement instance, string path)
    {
        var errors = new List<string>();
        Validate(schema, instance, path, errors);
        return errors.Count == 0;
    }

    private JsonElement Resolve(string reference)
    {
        const string prefix = "#/$defs/";
        if (!reference.StartsWith(prefix, StringComparison.Ordinal))
        {
            throw new NotSupportedException($"only local $defs references are supported, not {reference}");
        }

        return root.GetProperty("$defs").GetProperty(reference[prefix.Length..]);
    }

    private static bool HasType(JsonElement instance, string type) => type switch
    {
        "object" => instance.ValueKind == JsonValueKind.Object,
        "array" => instance.ValueKind == JsonValueKind.Array,
        "string" => instance.ValueKind == JsonValueKind.String,
        "number" => instance.ValueKind == JsonValueKind.Number,
        "integer" => instance.ValueKind == JsonValueKind.Number && IsInteger(instance),
        "boolean" => instance.ValueKind is JsonValueKind.True or JsonValueKind.False,
        "null" => instance.ValueKind == JsonValueKind.Null,
        _ => throw new NotSupportedException($"unknown type '{type}'"),
    };

    private static bool IsInteger(JsonElement number) =>
        decimal.TryParse(number.GetRawText(), NumberStyles.Float, CultureInfo.InvariantCulture, out var value)
            ? decimal.Truncate(value) == value
            : Math.Floor(number.GetDouble()) == number.GetDouble();

    private static bool JsonEquals(JsonElement a, JsonElement b)
    {
        if (a.ValueKind != b.ValueKind && !(a.ValueKind is JsonValueKind.True or JsonValueKind.False && b.ValueKind is JsonValueKind.True or JsonValueKind.False))
        {
            return false;
        }

        return a.ValueKind switch
        {
            JsonValueKind.Number => a.GetDouble() == b.GetDouble(),
            JsonValueKind.String => a.GetString() == b.GetString(),
            JsonValueKind.True or JsonValueKind.False => a.ValueKind == b.ValueKind,
            JsonValueKind.Null => true,
            JsonValueKind.Array => a.GetArrayLength() == b.GetArrayLength() && a.EnumerateArray().Zip(b.EnumerateArray()).All(p => JsonEquals(p.First, p.Second)),
            JsonValueKind.Object => a.EnumerateObject().Count() == b.EnumerateObject().Count()
                && a.EnumerateObject().All(p => b.TryGetProperty(p.Name, out var v) && JsonEquals(p.Value, v)),
            _ => false,
        };
    }
}
