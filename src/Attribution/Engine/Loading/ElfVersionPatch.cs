using System.Buffers.Binary;
using System.Text;

namespace Attribution.Engine.Loading;

/// <summary>
/// Marks one symbol-version requirement of an ELF64 shared library weak (VER_FLG_WEAK in its Vernaux entry), so
/// that the dynamic loader accepts a system library that lacks that version. It only does so when that is safe:
/// every dynamic symbol bound to the version is in an allow-list, undefined, and referenced by no relocation — so
/// the symbol is never looked up and the missing version cannot change behaviour.
/// </summary>
/// <remarks>
/// TorchSharp 0.107's libLibTorchSharp.so is built with GCC 13 and asks libstdc++ for GLIBCXX_3.4.32 for exactly one
/// symbol, <c>_ZSt21ios_base_library_initv</c>: an anchor GCC 13's &lt;iostream&gt; emits and nothing calls. Debian 12
/// and Ubuntu 22.04 ship GCC 12's libstdc++ (up to GLIBCXX_3.4.30), so the stock load fails there.
/// </remarks>
internal static class ElfVersionPatch
{
    private const uint ShtRela = 4;
    private const uint ShtRel = 9;
    private const uint ShtDynsym = 11;
    private const uint ShtGnuVerneed = 0x6ffffffe;
    private const uint ShtGnuVersym = 0x6fffffff;
    private const ushort VerFlgWeak = 0x2;

    /// <summary>
    /// Returns a copy of <paramref name="elf"/> in which the requirement of <paramref name="version"/> from
    /// <paramref name="library"/> is weak. Throws <see cref="ElfPatchException"/> naming the reason when the file is
    /// not a little-endian ELF64 library, has no such requirement, or binds a symbol to it that is not allowed,
    /// defined, or relocated.
    /// </summary>
    public static byte[] WeakenVersionNeed(ReadOnlySpan<byte> elf, string library, string version, IReadOnlySet<string> allowedSymbols)
    {
        var image = elf.ToArray();
        var file = new ElfFile(image);
        var verneed = file.Section(ShtGnuVerneed) ?? throw new ElfPatchException("the file has no .gnu.version_r section");
        var dynsymIndex = file.SectionIndex(ShtDynsym);
        var dynsym = dynsymIndex >= 0 ? file.Sections[dynsymIndex] : throw new ElfPatchException("the file has no .dynsym section");
        var versym = file.Section(ShtGnuVersym) ?? throw new ElfPatchException("the file has no .gnu.version section");

        var (auxOffset, versionIndex) = FindVernaux(file, verneed, library, version);

        var symbolCount = (int)(dynsym.Size / 24);
        if (versym.Size / 2 < symbolCount)
        {
            // Each .dynsym symbol has one 2-byte entry; past the section's end, the bytes read would be another section's.
            throw new ElfPatchException($"the .gnu.version section has {versym.Size / 2} entries for the {symbolCount} symbols of .dynsym");
        }

        var symbolNames = file.Linked(dynsymIndex).Offset;
        var relocated = RelocatedSymbols(file, dynsymIndex);
        var bound = 0;
        for (var i = 1; i < symbolCount; i++)
        {
            var index = file.U16(versym.Offset + (2 * i)) & 0x7fff;
            if (index != versionIndex)
            {
                continue;
            }

            bound++;
            var symbol = dynsym.Offset + (24 * i);
            var name = file.String(symbolNames, file.U32(symbol));
            if (!allowedSymbols.Contains(name))
            {
                throw new ElfPatchException($"symbol {name} needs {version} and is not in the allow-list");
            }

            if (file.U16(symbol + 6) != 0)
            {
                throw new ElfPatchException($"symbol {name} needs {version} but is defined in this file");
            }

            if (relocated.Contains(i))
            {
                throw new ElfPatchException($"symbol {name} needs {version} and is referenced by a relocation");
            }
        }

        if (bound == 0)
        {
            throw new ElfPatchException($"no dynamic symbol is bound to {version}");
        }

        var flags = file.U16(auxOffset + 4);
        BinaryPrimitives.WriteUInt16LittleEndian(image.AsSpan((int)auxOffset + 4), (ushort)(flags | VerFlgWeak));
        return image;
    }

    /// <summary>True when <paramref name="elf"/> requires <paramref name="version"/> from <paramref name="library"/> and the requirement is not weak.</summary>
    public static bool RequiresStrongly(ReadOnlySpan<byte> elf, string library, string version)
    {
        var file = new ElfFile(elf.ToArray());
        var verneed = file.Section(ShtGnuVerneed);
        if (verneed is null)
        {
            return false;
        }

        try
        {
            var (auxOffset, _) = FindVernaux(file, verneed, library, version);
            return (file.U16(auxOffset + 4) & VerFlgWeak) == 0;
        }
        catch (ElfPatchException)
        {
            return false;
        }
    }

    private static (long AuxOffset, int VersionIndex) FindVernaux(ElfFile file, ElfSection verneed, string library, string version)
    {
        var strings = file.Linked(file.SectionIndex(ShtGnuVerneed)).Offset;
        var entry = verneed.Offset;
        for (var n = 0; n < verneed.Info; n++)
        {
            var count = file.U16(entry + 2);
            var fileName = file.String(strings, file.U32(entry + 4));
            var aux = entry + file.U32(entry + 8);
            for (var k = 0; k < count; k++)
            {
                if (fileName == library && file.String(strings, file.U32(aux + 8)) == version)
                {
                    return (aux, file.U16(aux + 6));
                }

                var nextAux = file.U32(aux + 12);
                if (nextAux == 0)
                {
                    break;
                }

                aux += nextAux;
            }

            var next = file.U32(entry + 12);
            if (next == 0)
            {
                break;
            }

            entry += next;
        }

        throw new ElfPatchException($"the file does not require {version} from {library}");
    }

    private static HashSet<long> RelocatedSymbols(ElfFile file, int dynsymIndex)
    {
        var symbols = new HashSet<long>();
        foreach (var section in file.Sections)
        {
            if ((section.Type != ShtRela && section.Type != ShtRel) || section.Link != dynsymIndex)
            {
                continue;
            }

            var size = section.Type == ShtRela ? 24 : 16;
            for (long at = section.Offset; at + size <= section.Offset + section.Size; at += size)
            {
                symbols.Add((long)(file.U64(at + 8) >> 32));
            }
        }

        return symbols;
    }

    private sealed record ElfSection(uint Type, long Offset, long Size, uint Link, uint Info);

    private sealed class ElfFile
    {
        private readonly byte[] bytes;

        public ElfFile(byte[] bytes)
        {
            this.bytes = bytes;
            if (bytes.Length < 64 || bytes[0] != 0x7f || bytes[1] != (byte)'E' || bytes[2] != (byte)'L' || bytes[3] != (byte)'F')
            {
                throw new ElfPatchException("not an ELF file");
            }

            if (bytes[4] != 2 || bytes[5] != 1)
            {
                throw new ElfPatchException("not a little-endian 64-bit ELF file");
            }

            var shoff = (long)U64(0x28);
            var shentsize = U16(0x3A);
            var shnum = U16(0x3C);
            if (shentsize != 64 || shoff <= 0 || shoff + ((long)shnum * 64) > bytes.Length)
            {
                throw new ElfPatchException("the section header table is missing or out of bounds");
            }

            for (var i = 0; i < shnum; i++)
            {
                var at = shoff + (64L * i);
                var section = new ElfSection(U32(at + 4), (long)U64(at + 24), (long)U64(at + 32), U32(at + 40), U32(at + 44));
                // Compared without adding: Offset + Size can overflow to a negative number and pass, and a relocation
                // section so placed would be skipped as empty (its references to the symbol unseen).
                if (section.Type != 8 && (section.Offset < 0 || section.Size < 0 || section.Offset > bytes.Length || section.Size > bytes.Length - section.Offset))
                {
                    throw new ElfPatchException($"section {i} lies outside the file");
                }

                Sections.Add(section);
            }
        }

        public List<ElfSection> Sections { get; } = [];

        public ElfSection? Section(uint type) => SectionIndex(type) is var i and >= 0 ? Sections[i] : null;

        public int SectionIndex(uint type) => Sections.FindIndex(s => s.Type == type);

        /// <summary>The section that section <paramref name="index"/> links to (sh_link: its string or symbol table).</summary>
        public ElfSection Linked(int index) =>
            Sections[index].Link < (uint)Sections.Count
                ? Sections[(int)Sections[index].Link]
                : throw new ElfPatchException($"section {index} links to section {Sections[index].Link}, but the file has {Sections.Count} sections");

        public ushort U16(long at) => BinaryPrimitives.ReadUInt16LittleEndian(Slice(at, 2));

        public uint U32(long at) => BinaryPrimitives.ReadUInt32LittleEndian(Slice(at, 4));

        public ulong U64(long at) => BinaryPrimitives.ReadUInt64LittleEndian(Slice(at, 8));

        public string String(long table, long offset)
        {
            var start = table + offset;
            if (start < 0 || start >= bytes.Length)
            {
                throw new ElfPatchException("a string offset lies outside the file");
            }

            var end = Array.IndexOf(bytes, (byte)0, (int)start);
            if (end < 0)
            {
                throw new ElfPatchException("an unterminated string");
            }

            return Encoding.UTF8.GetString(bytes, (int)start, end - (int)start);
        }

        private ReadOnlySpan<byte> Slice(long at, int length) =>
            at >= 0 && at + length <= bytes.Length
                ? bytes.AsSpan((int)at, length)
                : throw new ElfPatchException("a read past the end of the file");
    }
}

/// <summary>An ELF file that the compatibility loader refuses to patch, with the reason.</summary>
public sealed class ElfPatchException(string message) : Exception(message);
