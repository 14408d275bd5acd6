using System.Buffers.Binary;
using System.Text;

namespace Attribution.Tests.Engine.Loading;

/// <summary>How the hand-built library binds its first dynamic symbol to GLIBCXX_3.4.32.</summary>
/// <param name="Symbol">The symbol's name.</param>
/// <param name="Defined">Whether the file defines it (a section index instead of SHN_UNDEF).</param>
/// <param name="Relocation">A relocation section type that references it: 4 (SHT_RELA), 9 (SHT_REL) or null (none).</param>
/// <param name="VersionIndex">Its .gnu.version entry: 2 is GLIBCXX_3.4.32, 3 is GLIBCXX_3.4.30; bit 15 is the hidden bit.</param>
internal sealed record SyntheticElfOptions(
    string Symbol = NativeLibraryFiles.Symbol, bool Defined = false, uint? Relocation = null, ushort VersionIndex = 2);

/// <summary>
/// A minimal little-endian ELF64 shared library, written byte by byte: section headers right after the ELF header,
/// then .dynstr, .dynsym (null, the symbol under test, <c>_ZNSt8ios_base4InitC1Ev</c>), .gnu.version, .gnu.version_r
/// (libstdc++.so.6: GLIBCXX_3.4.32 as version 2, GLIBCXX_3.4.30 as version 3), a relocation section (always one
/// GLOB_DAT relocation of the second symbol, plus one of the first when asked) and .shstrtab. No program headers: the
/// patcher reads sections only.
/// </summary>
internal sealed class SyntheticElf
{
    private const int SectionCount = 7;

    private SyntheticElf(byte[] bytes, int flagsOffset)
    {
        Bytes = bytes;
        FlagsOffset = flagsOffset;
    }

    /// <summary>The file.</summary>
    public byte[] Bytes { get; }

    /// <summary>Where the vna_flags of the GLIBCXX_3.4.32 Vernaux lie (known by construction).</summary>
    public int FlagsOffset { get; }

    /// <summary>Where .dynstr starts (everything before it is the ELF header and the section header table).</summary>
    public static int FirstSectionOffset => 64 + (64 * SectionCount);

    public static SyntheticElf Build(SyntheticElfOptions options)
    {
        // .dynstr
        var dynstr = new StringTable();
        var library = dynstr.Add(NativeLibraryFiles.Library);
        var needed = dynstr.Add(NativeLibraryFiles.Version);
        var older = dynstr.Add("GLIBCXX_3.4.30");
        var symbol = dynstr.Add(options.Symbol);
        var other = dynstr.Add("_ZNSt8ios_base4InitC1Ev");

        // .dynsym: Elf64_Sym { st_name u32, st_info u8, st_other u8, st_shndx u16, st_value u64, st_size u64 }
        var dynsym = new Writer();
        dynsym.Zeros(24);
        foreach (var (name, shndx) in new[] { (symbol, options.Defined ? (ushort)1 : (ushort)0), (other, (ushort)0) })
        {
            dynsym.U32(name).U8(0x12).U8(0).U16(shndx).U64(0).U64(0);
        }

        // .gnu.version: one Elf64_Versym (u16) a symbol.
        var versym = new Writer().U16(0).U16(options.VersionIndex).U16(3);

        // .gnu.version_r: Elf64_Verneed { vn_version u16, vn_cnt u16, vn_file u32, vn_aux u32, vn_next u32 }, then
        // Elf64_Vernaux { vna_hash u32, vna_flags u16, vna_other u16, vna_name u32, vna_next u32 } each.
        var verneed = new Writer()
            .U16(1).U16(2).U32(library).U32(16).U32(0)
            .U32(ElfHash(NativeLibraryFiles.Version)).U16(0).U16(2).U32(needed).U32(16)
            .U32(ElfHash("GLIBCXX_3.4.30")).U16(0).U16(3).U32(older).U32(0);

        // Relocations: Elf64_Rela { r_offset u64, r_info u64 (symbol << 32 | type), r_addend i64 }; Elf64_Rel lacks r_addend.
        var relocationType = options.Relocation ?? 4u;
        var relocations = new Writer();
        var symbols = options.Relocation is null ? new ulong[] { 2 } : [2, 1];
        foreach (var (index, at) in symbols.Select((s, i) => (s, i)))
        {
            relocations.U64(0x1000 + (8 * (ulong)at)).U64((index << 32) | 6);
            if (relocationType == 4)
            {
                relocations.U64(0);
            }
        }

        var shstrtab = new StringTable();
        var names = new[] { ".dynstr", ".dynsym", ".gnu.version", ".gnu.version_r", relocationType == 4 ? ".rela.dyn" : ".rel.dyn", ".shstrtab" }
            .Select(shstrtab.Add).ToArray();

        // Lay the sections out after the headers, each aligned to 8.
        var contents = new[] { dynstr.Bytes, dynsym.ToArray(), versym.ToArray(), verneed.ToArray(), relocations.ToArray(), shstrtab.Bytes };
        var offsets = new int[contents.Length];
        var body = new Writer();
        for (var i = 0; i < contents.Length; i++)
        {
            body.Zeros((8 - ((FirstSectionOffset + body.Length) % 8)) % 8);
            offsets[i] = FirstSectionOffset + body.Length;
            body.Bytes(contents[i]);
        }

        var file = new Writer();

        // Elf64_Ehdr: ELFCLASS64, ELFDATA2LSB, ET_DYN, EM_X86_64, e_shoff = 64, 7 sections of 64 bytes, .shstrtab is 6.
        file.Bytes([0x7f, (byte)'E', (byte)'L', (byte)'F', 2, 1, 1, 0]).Zeros(8)
            .U16(3).U16(62).U32(1).U64(0).U64(0).U64(64).U32(0)
            .U16(64).U16(0).U16(0).U16(64).U16(SectionCount).U16(6);

        // Elf64_Shdr { sh_name u32, sh_type u32, sh_flags u64, sh_addr u64, sh_offset u64, sh_size u64, sh_link u32,
        // sh_info u32, sh_addralign u64, sh_entsize u64 }
        file.Zeros(64);
        var types = new uint[] { 3, 11, 0x6fffffff, 0x6ffffffe, relocationType, 3 };
        var links = new uint[] { 0, 1, 2, 1, 2, 0 };
        var infos = new uint[] { 0, 1, 0, 1, 0, 0 };
        var entrySizes = new ulong[] { 0, 24, 2, 0, relocationType == 4 ? 24u : 16u, 0 };
        for (var i = 0; i < contents.Length; i++)
        {
            file.U32(names[i]).U32(types[i]).U64(i < 5 ? 2u : 0u).U64(0).U64((ulong)offsets[i]).U64((ulong)contents[i].Length)
                .U32(links[i]).U32(infos[i]).U64(8).U64(entrySizes[i]);
        }

        file.Bytes(body.ToArray());
        return new SyntheticElf(file.ToArray(), offsets[3] + 16 + 4);
    }

    /// <summary>The SysV ELF hash (vna_hash).</summary>
    private static uint ElfHash(string name)
    {
        uint h = 0;
        foreach (var c in Encoding.ASCII.GetBytes(name))
        {
            h = (h << 4) + c;
            var g = h & 0xf0000000;
            if (g != 0)
            {
                h ^= g >> 24;
            }

            h &= ~g;
        }

        return h;
    }

    private sealed class StringTable
    {
        private readonly Writer writer = new Writer().U8(0);

        public byte[] Bytes => writer.ToArray();

        public uint Add(string text)
        {
            var at = (uint)writer.Length;
            writer.Bytes(Encoding.ASCII.GetBytes(text)).U8(0);
            return at;
        }
    }

    private sealed class Writer
    {
        private readonly List<byte> bytes = [];

        public int Length => bytes.Count;

        public byte[] ToArray() => [.. bytes];

        public Writer U8(byte value)
        {
            bytes.Add(value);
            return this;
        }

        public Writer U16(ushort value)
        {
            var buffer = new byte[2];
            BinaryPrimitives.WriteUInt16LittleEndian(buffer, value);
            return Bytes(buffer);
        }

        public Writer U32(uint value)
        {
            var buffer = new byte[4];
            BinaryPrimitives.WriteUInt32LittleEndian(buffer, value);
            return Bytes(buffer);
        }

        public Writer U64(ulong value)
        {
            var buffer = new byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(buffer, value);
            return Bytes(buffer);
        }

        public Writer Zeros(int count) => Bytes(new byte[count]);

        public Writer Bytes(byte[] value)
        {
            bytes.AddRange(value);
            return this;
        }
    }
}
