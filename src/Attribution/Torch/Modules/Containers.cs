namespace Attribution.Torch;

public static partial class torch
{
    public static partial class nn
    {
        /// <summary>Runs tensor→tensor modules in order; they are registered as "0", "1", … as in PyTorch.</summary>
        public sealed class Sequential : Module<Tensor, Tensor>
        {
            private readonly List<Module<Tensor, Tensor>> layers = [];

            /// <summary>Creates the sequence.</summary>
            public Sequential(params Module<Tensor, Tensor>[] modules)
                : base(nameof(Sequential))
            {
                ArgumentNullException.ThrowIfNull(modules);
                foreach (var m in modules)
                {
                    register_module(layers.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), m);
                    layers.Add(m);
                }
            }

            /// <summary>Number of layers.</summary>
            public int Count => layers.Count;

            /// <summary>The layer at a position.</summary>
            public Module<Tensor, Tensor> this[int index] => layers[index];

            /// <inheritdoc />
            protected override Tensor forward(Tensor input)
            {
                // Intermediates are not disposed here: a hook may have kept them (attributors capture
                // layer outputs); the caller's dispose scope frees them.
                var x = input;
                foreach (var layer in layers)
                {
                    x = layer.call(x);
                }

                return ReferenceEquals(x, input) ? input.alias() : x;
            }
        }

        /// <summary>Holds submodules registered as "0", "1", … (for example BERT's encoder layers).</summary>
        /// <typeparam name="T">Module type.</typeparam>
        public sealed class ModuleList<T> : Module, IReadOnlyList<T>
            where T : Module
        {
            private readonly List<T> items = [];

            /// <summary>Creates the list.</summary>
            public ModuleList(IEnumerable<T> modules)
                : base(nameof(ModuleList<T>))
            {
                ArgumentNullException.ThrowIfNull(modules);
                foreach (var m in modules)
                {
                    Add(m);
                }
            }

            /// <summary>Appends a module.</summary>
            public void Add(T module)
            {
                register_module(items.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), module);
                items.Add(module);
            }

            /// <summary>Number of modules.</summary>
            public int Count => items.Count;

            /// <summary>The module at a position.</summary>
            public T this[int index] => items[index];

            /// <inheritdoc />
            public IEnumerator<T> GetEnumerator() => items.GetEnumerator();

            System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
        }
    }
}
