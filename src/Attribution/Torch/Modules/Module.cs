using System.Reflection;

namespace Attribution.Torch;

public static partial class torch
{
    public static partial class nn
    {
        /// <summary>
        /// Base of every layer and model: named parameters, buffers and submodules (dotted paths such as
        /// <c>bert.encoder.layer.0</c>), train/eval, dtype/device moves, state dicts and forward hooks.
        /// Parameters and buffers are owned by the module (outside every dispose scope) until it is disposed.
        /// </summary>
        public abstract partial class Module : IDisposable
        {
            private readonly List<Entry<Tensor>> ownParameters = [];
            private readonly List<Entry<Tensor>> ownBuffers = [];
            private readonly List<Entry<Module>> ownModules = [];
            private bool disposed;

            /// <summary>Creates a module; <paramref name="name"/> is its type name in messages.</summary>
            protected Module(string name) => this.name = name;

            private readonly string name;

            /// <summary>The module's type name (e.g. "Linear").</summary>
            public string GetName() => name;

            /// <summary>True in training mode (dropout active), false after <see cref="eval"/>.</summary>
            public bool training { get; private set; } = true;

            private sealed class Entry<T>(string name, T? value, FieldInfo? field)
                where T : class
            {
                public string Name { get; } = name;
                public T? Value { get; set; } = value;
                public FieldInfo? Field { get; } = field;
            }

            // ---- registration ----

            /// <summary>
            /// Registers, in declaration order, every instance field of a <see cref="Module"/> type as a submodule and
            /// every <see cref="Tensor"/> field as a parameter (or as a buffer when marked <see cref="BufferAttribute"/>).
            /// Leading and trailing underscores are dropped from the name (<c>weight_</c> and <c>_weight</c> both register <c>weight</c>). Call it at the end of the constructor.
            /// </summary>
            protected void RegisterComponents()
            {
                for (var type = GetType(); type is not null && type != typeof(Module); type = type.BaseType)
                {
                    foreach (var field in type.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly)
                                 .OrderBy(f => f.MetadataToken))
                    {
                        var fieldName = field.Name.Trim('_');
                        if (field.Name.Contains('<') || field.IsDefined(typeof(IgnoreAttribute)))
                        {
                            continue;
                        }

                        if (typeof(Module).IsAssignableFrom(field.FieldType))
                        {
                            if (field.GetValue(this) is Module m && ownModules.All(e => e.Name != fieldName))
                            {
                                ownModules.Add(new Entry<Module>(fieldName, m, field));
                            }
                        }
                        else if (field.FieldType == typeof(Tensor) && field.GetValue(this) is Tensor t)
                        {
                            var list = field.IsDefined(typeof(BufferAttribute)) ? ownBuffers : ownParameters;
                            if (list.All(e => e.Name != fieldName))
                            {
                                t.DetachFromDisposeScope();
                                list.Add(new Entry<Tensor>(fieldName, t, field));
                            }
                        }
                    }
                }
            }

            /// <summary>Registers a parameter by name (null registers an absent optional parameter, e.g. no bias).</summary>
            public void register_parameter(string name, Tensor? parameter)
            {
                CheckName(name, ownParameters);
                ownParameters.Add(new Entry<Tensor>(name, parameter?.DetachFromDisposeScope(), null));
            }

            /// <summary>Registers a buffer (state saved in the state dict but not trained).</summary>
            public void register_buffer(string name, Tensor? buffer)
            {
                CheckName(name, ownBuffers);
                ownBuffers.Add(new Entry<Tensor>(name, buffer?.DetachFromDisposeScope(), null));
            }

            /// <summary>Registers a submodule by name.</summary>
            public void register_module(string name, Module module)
            {
                ArgumentNullException.ThrowIfNull(module);
                CheckName(name, ownModules);
                ownModules.Add(new Entry<Module>(name, module, null));
            }

            private static void CheckName<T>(string name, List<Entry<T>> list)
                where T : class
            {
                if (string.IsNullOrEmpty(name) || name.Contains('.'))
                {
                    throw new ArgumentException($"'{name}' is not a valid component name (non-empty, no dots)", nameof(name));
                }

                if (list.Any(e => e.Name == name))
                {
                    throw new ArgumentException($"a component named '{name}' is already registered", nameof(name));
                }
            }

            // ---- traversal ----

            /// <summary>Direct submodules with their names.</summary>
            public IEnumerable<(string name, Module module)> named_children() =>
                ownModules.Where(e => e.Value is not null).Select(e => (e.Name, e.Value!));

            /// <summary>This module ("") and every descendant with its dotted path.</summary>
            public IEnumerable<(string name, Module module)> named_modules()
            {
                yield return (string.Empty, this);
                foreach (var (childName, child) in named_children())
                {
                    foreach (var (sub, m) in child.named_modules())
                    {
                        yield return (sub.Length == 0 ? childName : childName + "." + sub, m);
                    }
                }
            }

            /// <summary>Every parameter with its dotted name.</summary>
            public IEnumerable<(string name, Tensor parameter)> named_parameters(bool recurse = true) =>
                Named(m => m.ownParameters, recurse);

            /// <summary>Every buffer with its dotted name.</summary>
            public IEnumerable<(string name, Tensor buffer)> named_buffers(bool recurse = true) =>
                Named(m => m.ownBuffers, recurse);

            /// <summary>Every parameter.</summary>
            public IEnumerable<Tensor> parameters() => named_parameters().Select(p => p.parameter);

            private IEnumerable<(string, Tensor)> Named(Func<Module, List<Entry<Tensor>>> select, bool recurse)
            {
                foreach (var (path, m) in recurse ? named_modules() : [(string.Empty, this)])
                {
                    foreach (var e in select(m))
                    {
                        if (e.Value is not null)
                        {
                            yield return (path.Length == 0 ? e.Name : path + "." + e.Name, e.Value);
                        }
                    }
                }
            }

            /// <summary>
            /// The submodule at a dotted path (e.g. <c>bert.embeddings.word_embeddings</c>); an unknown path throws
            /// an <see cref="ArgumentException"/> listing the closest existing paths.
            /// </summary>
            public Module get_submodule(string path)
            {
                ArgumentNullException.ThrowIfNull(path);
                if (path.Length == 0)
                {
                    return this;
                }

                foreach (var (n, m) in named_modules())
                {
                    if (n == path)
                    {
                        return m;
                    }
                }

                var close = named_modules().Select(x => x.name).Where(n => n.Length > 0)
                    .OrderBy(n => EditDistance(n, path)).Take(5).ToList();
                throw new ArgumentException(
                    $"no submodule '{path}' in {name}; closest paths: {string.Join(", ", close)}", nameof(path));
            }

            private static int EditDistance(string a, string b)
            {
                var d = new int[b.Length + 1];
                for (var j = 0; j <= b.Length; j++)
                {
                    d[j] = j;
                }

                for (var i = 1; i <= a.Length; i++)
                {
                    var previous = d[0];
                    d[0] = i;
                    for (var j = 1; j <= b.Length; j++)
                    {
                        var temp = d[j];
                        d[j] = Math.Min(Math.Min(d[j] + 1, d[j - 1] + 1), previous + (a[i - 1] == b[j - 1] ? 0 : 1));
                        previous = temp;
                    }
                }

                return d[b.Length];
            }

            // ---- modes and moves ----

            /// <summary>Sets training mode on this module and every descendant.</summary>
            public Module train(bool mode = true)
            {
                foreach (var (_, m) in named_modules())
                {
                    m.training = mode;
                }

                return this;
            }

            /// <summary>Sets evaluation mode (dropout off) on this module and every descendant.</summary>
            public Module eval() => train(false);

            /// <summary>Converts every floating-point parameter and buffer to <paramref name="dtype"/>.</summary>
            public Module to(ScalarType dtype) => Move(t => t.dtype.IsFloatingPoint() ? t.to(dtype) : null);

            /// <summary>Moves every parameter and buffer to <paramref name="device"/>.</summary>
            public Module to(Device device) => Move(t => t.to(device));

            private Module Move(Func<Tensor, Tensor?> convert)
            {
                foreach (var (_, m) in named_modules())
                {
                    foreach (var e in m.ownParameters.Concat(m.ownBuffers))
                    {
                        if (e.Value is null)
                        {
                            continue;
                        }

                        Tensor? moved;
                        using (no_grad())
                        {
                            moved = convert(e.Value);
                        }

                        if (moved is null)
                        {
                            continue;
                        }

                        moved.DetachFromDisposeScope();
                        if (e.Value.requires_grad)
                        {
                            moved.requires_grad_();
                        }

                        e.Value.Dispose();
                        e.Value = moved;
                        e.Field?.SetValue(m, moved);
                    }
                }

                return this;
            }

            /// <summary>Sets requires_grad on every parameter (false freezes the module).</summary>
            public Module requires_grad_(bool value = true)
            {
                foreach (var p in parameters())
                {
                    p.requires_grad_(value);
                }

                return this;
            }

            /// <summary>Clears the gradient of every parameter.</summary>
            public void zero_grad()
            {
                foreach (var p in parameters())
                {
                    p.grad = null;
                }
            }

            // ---- state dicts ----

            /// <summary>Parameters and buffers by dotted name. The tensors are the module's own: do not dispose them.</summary>
            public Dictionary<string, Tensor> state_dict()
            {
                var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
                foreach (var (n, t) in named_parameters().Concat(named_buffers()))
                {
                    result[n] = t;
                }

                return result;
            }

            /// <summary>
            /// Copies values into the module's parameters and buffers (shapes must match; dtypes are converted).
            /// With <paramref name="strict"/>, any missing or unexpected key is an error that lists them all.
            /// </summary>
            /// <returns>The keys the module has but the dictionary lacks, and the keys the module does not have.</returns>
            public (IReadOnlyList<string> missing, IReadOnlyList<string> unexpected) load_state_dict(
                IReadOnlyDictionary<string, Tensor> source, bool strict = true)
            {
                ArgumentNullException.ThrowIfNull(source);
                var own = state_dict();
                var missing = own.Keys.Where(k => !source.ContainsKey(k)).OrderBy(k => k, StringComparer.Ordinal).ToList();
                var unexpected = source.Keys.Where(k => !own.ContainsKey(k)).OrderBy(k => k, StringComparer.Ordinal).ToList();
                if (strict && (missing.Count > 0 || unexpected.Count > 0))
                {
                    throw new StateDictException(name, missing, unexpected);
                }

                var mismatched = own.Where(kv => source.ContainsKey(kv.Key) && !kv.Value.shape.SequenceEqual(source[kv.Key].shape))
                    .Select(kv => $"{kv.Key}: module has [{string.Join(", ", kv.Value.shape)}], checkpoint has [{string.Join(", ", source[kv.Key].shape)}]")
                    .ToList();
                if (mismatched.Count > 0)
                {
                    throw new StateDictException(name, mismatched);
                }

                using var scope = NewDisposeScope();
                using var _ = no_grad();
                foreach (var (key, target) in own)
                {
                    if (source.TryGetValue(key, out var value))
                    {
                        target.copy_(value);
                    }
                }

                return (missing, unexpected);
            }

            /// <summary>Frees every parameter and buffer of this module and its descendants.</summary>
            public void Dispose()
            {
                Dispose(true);
                GC.SuppressFinalize(this);
            }

            /// <summary>Frees native state; override to release more.</summary>
            protected virtual void Dispose(bool disposing)
            {
                if (disposed)
                {
                    return;
                }

                disposed = true;
                if (disposing)
                {
                    foreach (var e in ownParameters.Concat(ownBuffers))
                    {
                        e.Value?.Dispose();
                    }

                    foreach (var e in ownModules)
                    {
                        e.Value?.Dispose();
                    }
                }
            }
        }

        /// <summary>Marks a <see cref="Tensor"/> field as a buffer rather than a parameter.</summary>
        [AttributeUsage(AttributeTargets.Field)]
        public sealed class BufferAttribute : Attribute
        {
        }

        /// <summary>Excludes a field from <see cref="Module"/> registration.</summary>
        [AttributeUsage(AttributeTargets.Field)]
        public sealed class IgnoreAttribute : Attribute
        {
        }
    }
}

/// <summary>A state dict does not fit a module: missing, unexpected or mis-shaped entries.</summary>
public sealed class StateDictException : Exception
{
    internal StateDictException(string module, IReadOnlyList<string> missing, IReadOnlyList<string> unexpected)
        : base($"state dict does not match {module}: " +
               (missing.Count > 0 ? $"missing {missing.Count} key(s): {string.Join(", ", missing.Take(20))}{(missing.Count > 20 ? ", …" : string.Empty)}" : "no missing keys") + "; " +
               (unexpected.Count > 0 ? $"unexpected {unexpected.Count} key(s): {string.Join(", ", unexpected.Take(20))}{(unexpected.Count > 20 ? ", …" : string.Empty)}" : "no unexpected keys") +
               ". Pass strict: false to load the keys that match.")
    {
        Missing = missing;
        Unexpected = unexpected;
        Mismatched = [];
    }

    internal StateDictException(string module, IReadOnlyList<string> mismatched)
        : base($"state dict does not match {module}: shape mismatch for {string.Join("; ", mismatched)}")
    {
        Missing = [];
        Unexpected = [];
        Mismatched = mismatched;
    }

    /// <summary>Keys the module has and the checkpoint lacks.</summary>
    public IReadOnlyList<string> Missing { get; }

    /// <summary>Keys the checkpoint has and the module lacks.</summary>
    public IReadOnlyList<string> Unexpected { get; }

    /// <summary>Keys present in both with different shapes, described.</summary>
    public IReadOnlyList<string> Mismatched { get; }
}
