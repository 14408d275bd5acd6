using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Attribution.Engine.Loading;

namespace Attribution.Tests.Engine.Loading;

/// <summary>
/// <see cref="ElfVersionPatch"/> on TorchSharp's real libLibTorchSharp.so (where binutils' <c>readelf</c>, not the
/// code under test, says where the GLIBCXX_3.4.32 requirement's flags are) and on hand-built ELF64 files: the patch
/// sets VER_FLG_WEAK in that one flags word and nothing else, and it refuses whatever it cannot prove safe.
/// </summary>
public sealed partial class ElfVersionPatchTests
{
    private const ushort VerFlgWeak = 0x2;
    private static readonly HashSet<string> Allowed = new(StringComparer.Ordinal) { NativeLibraryFiles.Symbol };

    [SkippableFact]
    public void Patch_of_the_real_library_sets_only_the_weak_bit_of_the_GLIBCXX_3_4_32_requirement()
    {
        var path = NativeLibraryFiles.RequireLibrary();
        var expected = ReadElfVernaux(path, NativeLibraryFiles.Library, NativeLibraryFiles.Version);
        expected.Flags.Should().Be("none", "TorchSharp's stock library requires GLIBCXX_3.4.32 strongly");
        var original = File.ReadAllBytes(path);
        var untouched = original.ToArray();

        var patched = ElfVersionPatch.WeakenVersionNeed(original, NativeLibraryFiles.Library, NativeLibraryFiles.Version, Allowed);

        original.Should().Equal(untouched, "the patch works on a copy");
        patched.Length.Should().Be(original.Length);
        var changed = Enumerable.Range(0, original.Length).Where(i => original[i] != patched[i]).ToList();
        changed.Should().NotBeEmpty().And.OnlyContain(
            i => i >= expected.FlagsOffset && i < expected.FlagsOffset + 2,
            "only the vna_flags word of the GLIBCXX_3.4.32 Vernaux, at 0x{0:x} by readelf, may change", expected.FlagsOffset);
        var before = BinaryPrimitives.ReadUInt16LittleEndian(original.AsSpan((int)expected.FlagsOffset));
        var after = BinaryPrimitives.ReadUInt16LittleEndian(patched.AsSpan((int)expected.FlagsOffset));
        (before & VerFlgWeak).Should().Be(0);
        after.Should().Be((ushort)(before | VerFlgWeak), "the flags word gains VER_FLG_WEAK (bit value 2) and keeps its other bits");

        // readelf on the patched copy: that requirement is now WEAK, and every other line of -V is as before.
        var copy = Path.Combine(Directory.CreateTempSubdirectory("elf-patch-").FullName, NativeLibraryFiles.LibraryFile);
        try
        {
            File.WriteAllBytes(copy, patched);
            ReadElfVernaux(copy, NativeLibraryFiles.Library, NativeLibraryFiles.Version).Flags.Should().Be("WEAK");
            var beforeLines = NativeLibraryFiles.ReadElf("-V", "-W", path)!.Split('\n');
            var afterLines = NativeLibraryFiles.ReadElf("-V", "-W", copy)!.Split('\n');
            afterLines.Length.Should().Be(beforeLines.Length);
            beforeLines.Zip(afterLines).Where(p => p.First != p.Second).Should().ContainSingle()
                .Which.Second.Should().Contain($"Name: {NativeLibraryFiles.Version}").And.Contain("Flags: WEAK");
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(copy)!, recursive: true);
        }
    }

    [SkippableFact]
    public void Requires_strongly_before_the_patch_and_not_after()
    {
        var original = File.ReadAllBytes(NativeLibraryFiles.RequireLibrary());
        ElfVersionPatch.RequiresStrongly(original, NativeLibraryFiles.Library, NativeLibraryFiles.Version).Should().BeTrue();
        var patched = ElfVersionPatch.WeakenVersionNeed(original, NativeLibraryFiles.Library, NativeLibraryFiles.Version, Allowed);
        ElfVersionPatch.RequiresStrongly(patched, NativeLibraryFiles.Library, NativeLibraryFiles.Version).Should().BeFalse();
        ElfVersionPatch.RequiresStrongly(original, NativeLibraryFiles.Library, "GLIBCXX_3.4.99").Should().BeFalse("the file does not require it at all");
        ElfVersionPatch.WeakenVersionNeed(patched, NativeLibraryFiles.Library, NativeLibraryFiles.Version, Allowed)
            .Should().Equal(patched, "patching a patched copy changes nothing");
    }

    [SkippableFact]
    public void Real_library_is_refused_with_an_empty_allow_list_naming_the_symbol()
    {
        var original = File.ReadAllBytes(NativeLibraryFiles.RequireLibrary());
        foreach (var allowList in new[] { new HashSet<string>(), new HashSet<string> { "_ZSt4cout" } })
        {
            var act = () => ElfVersionPatch.WeakenVersionNeed(original, NativeLibraryFiles.Library, NativeLibraryFiles.Version, allowList);
            act.Should().Throw<ElfPatchException>()
                .WithMessage($"*{NativeLibraryFiles.Symbol}*{NativeLibraryFiles.Version}*allow-list*");
        }
    }

    [SkippableTheory]
    [InlineData("libstdc++.so.6", "GLIBCXX_3.4.99")]
    [InlineData("libc.so.6", "GLIBCXX_3.4.32")]
    public void Real_library_is_refused_for_a_version_it_does_not_require(string library, string version)
    {
        var original = File.ReadAllBytes(NativeLibraryFiles.RequireLibrary());
        var act = () => ElfVersionPatch.WeakenVersionNeed(original, library, version, Allowed);
        act.Should().Throw<ElfPatchException>().WithMessage($"the file does not require {version} from {library}");
    }

    [SkippableFact]
    public void Truncated_real_library_is_refused()
    {
        var original = File.ReadAllBytes(NativeLibraryFiles.RequireLibrary());
        var act = () => ElfVersionPatch.WeakenVersionNeed(original.AsSpan(0, original.Length / 2), NativeLibraryFiles.Library, NativeLibraryFiles.Version, Allowed);
        act.Should().Throw<ElfPatchException>().WithMessage("*section header table*out of bounds*");
        var header = () => ElfVersionPatch.WeakenVersionNeed(original.AsSpan(0, 40), NativeLibraryFiles.Library, NativeLibraryFiles.Version, Allowed);
        header.Should().Throw<ElfPatchException>().WithMessage("not an ELF file", "40 bytes cannot hold an ELF64 header");
    }

    [Fact]
    public void Non_elf_files_are_refused()
    {
        var script = Encoding.ASCII.GetBytes("#!/bin/sh\n" + new string('#', 200) + "\necho not a library\n");
        Refusal(script).Should().Be("not an ELF file");
        Refusal([]).Should().Be("not an ELF file");

        var elf = SyntheticElf.Build(new SyntheticElfOptions()).Bytes;
        var elf32 = elf.ToArray();
        elf32[4] = 1;
        Refusal(elf32).Should().Be("not a little-endian 64-bit ELF file");
        var bigEndian = elf.ToArray();
        bigEndian[5] = 2;
        Refusal(bigEndian).Should().Be("not a little-endian 64-bit ELF file");
    }

    [Fact]
    public void Synthetic_library_is_patched_in_its_flags_word_only()
    {
        var elf = SyntheticElf.Build(new SyntheticElfOptions());
        ElfVersionPatch.RequiresStrongly(elf.Bytes, NativeLibraryFiles.Library, NativeLibraryFiles.Version).Should().BeTrue();

        var patched = ElfVersionPatch.WeakenVersionNeed(elf.Bytes, NativeLibraryFiles.Library, NativeLibraryFiles.Version, Allowed);

        Enumerable.Range(0, elf.Bytes.Length).Where(i => elf.Bytes[i] != patched[i]).Should().Equal(elf.FlagsOffset);
        BinaryPrimitives.ReadUInt16LittleEndian(patched.AsSpan(elf.FlagsOffset)).Should().Be(VerFlgWeak);
        ElfVersionPatch.RequiresStrongly(patched, NativeLibraryFiles.Library, NativeLibraryFiles.Version).Should().BeFalse();
        ElfVersionPatch.RequiresStrongly(patched, NativeLibraryFiles.Library, "GLIBCXX_3.4.30").Should().BeTrue("the other requirement is untouched");
    }

    [SkippableFact]
    public void Synthetic_library_is_what_readelf_reads()
    {
        // The builder's own check: binutils sees the version requirement and the symbols it meant to write. (readelf
        // finds .gnu.version through a dynamic section, which this file lacks; the "unbound" refusal shows that the
        // patcher reads symbol 1's version where the builder writes it.)
        var elf = SyntheticElf.Build(new SyntheticElfOptions());
        var folder = Directory.CreateTempSubdirectory("elf-synthetic-").FullName;
        try
        {
            var path = Path.Combine(folder, "libsynthetic.so");
            File.WriteAllBytes(path, elf.Bytes);
            var found = ReadElfVernaux(path, NativeLibraryFiles.Library, NativeLibraryFiles.Version);
            found.FlagsOffset.Should().Be(elf.FlagsOffset);
            found.Flags.Should().Be("none");
            found.Index.Should().Be(2);
            NativeLibraryFiles.ReadElf("--dyn-syms", "-W", path)!.Should().MatchRegex(@"1: 0+ +0 FUNC +GLOBAL DEFAULT +UND _ZSt21ios_base_library_initv")
                .And.MatchRegex(@"2: 0+ +0 FUNC +GLOBAL DEFAULT +UND _ZNSt8ios_base4InitC1Ev");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Theory]
    [InlineData("defined", "symbol _ZSt21ios_base_library_initv needs GLIBCXX_3.4.32 but is defined in this file")]
    [InlineData("rela", "symbol _ZSt21ios_base_library_initv needs GLIBCXX_3.4.32 and is referenced by a relocation")]
    [InlineData("rel", "symbol _ZSt21ios_base_library_initv needs GLIBCXX_3.4.32 and is referenced by a relocation")]
    [InlineData("hidden-rela", "symbol _ZSt21ios_base_library_initv needs GLIBCXX_3.4.32 and is referenced by a relocation")]
    [InlineData("other-symbol", "symbol _ZSt4cout needs GLIBCXX_3.4.32 and is not in the allow-list")]
    [InlineData("unbound", "no dynamic symbol is bound to GLIBCXX_3.4.32")]
    public void Synthetic_library_with_an_unsafe_binding_is_refused(string variant, string message)
    {
        var options = variant switch
        {
            "defined" => new SyntheticElfOptions(Defined: true),
            "rela" => new SyntheticElfOptions(Relocation: 4),
            "rel" => new SyntheticElfOptions(Relocation: 9),
            "hidden-rela" => new SyntheticElfOptions(Relocation: 4, VersionIndex: 0x8002),
            "other-symbol" => new SyntheticElfOptions(Symbol: "_ZSt4cout"),
            "unbound" => new SyntheticElfOptions(VersionIndex: 3),
            _ => throw new ArgumentOutOfRangeException(nameof(variant)),
        };

        Refusal(SyntheticElf.Build(options).Bytes).Should().Be(message);
    }

    [Fact]
    public void Synthetic_library_truncated_inside_its_sections_is_refused()
    {
        var elf = SyntheticElf.Build(new SyntheticElfOptions()).Bytes;
        Refusal(elf.AsSpan(0, elf.Length - 1).ToArray()).Should().Be("section 6 lies outside the file");
        Refusal(elf.AsSpan(0, SyntheticElf.FirstSectionOffset + 8).ToArray()).Should().Be("section 1 lies outside the file");
        Refusal(elf.AsSpan(0, 200).ToArray()).Should().Be("the section header table is missing or out of bounds");
    }

    [Theory]
    [InlineData(2, 99, "section 2 links to section 99, but the file has 7 sections")]
    [InlineData(4, 99, "section 4 links to section 99, but the file has 7 sections")]
    [InlineData(2, 7, "section 2 links to section 7, but the file has 7 sections")] // one past the last (sections 0–6)
    public void Synthetic_library_whose_section_links_past_the_table_is_refused_by_name(int section, uint link, string message)
    {
        // sh_link (at +40 in the section header) of .dynsym (2) or .gnu.version_r (4) names its string table; a
        // hostile 99 was an untyped ArgumentOutOfRangeException ("Index was out of range"), with nothing of the file.
        var elf = SyntheticElf.Build(new SyntheticElfOptions()).Bytes;
        BinaryPrimitives.WriteUInt32LittleEndian(elf.AsSpan(64 + (64 * section) + 40), link);
        Refusal(elf).Should().Be(message);
    }

    [Fact]
    public void Synthetic_relocation_section_whose_end_overflows_is_refused_not_skipped()
    {
        // The relocation section (5) references the symbol, so the patch must be refused. A size whose sum with the
        // offset overflows a long passed the bounds check (the sum is negative) and the section read as empty: the
        // patch was made although a relocation uses the symbol.
        var elf = SyntheticElf.Build(new SyntheticElfOptions(Relocation: 4)).Bytes;
        BinaryPrimitives.WriteUInt64LittleEndian(elf.AsSpan(64 + (64 * 5) + 32), long.MaxValue);
        Refusal(elf).Should().Be("section 5 lies outside the file");
    }

    [Fact]
    public void Synthetic_version_table_shorter_than_the_symbol_table_is_refused()
    {
        // .dynsym has 3 symbols (null, the symbol under test, another); a .gnu.version of one 2-byte entry made the
        // patcher read the versions of the others from whatever bytes follow it.
        var elf = SyntheticElf.Build(new SyntheticElfOptions()).Bytes;
        BinaryPrimitives.WriteUInt64LittleEndian(elf.AsSpan(64 + (64 * 3) + 32), 2);
        Refusal(elf).Should().Be("the .gnu.version section has 1 entries for the 3 symbols of .dynsym");
    }

    private static string Refusal(byte[] bytes)
    {
        var act = () => ElfVersionPatch.WeakenVersionNeed(bytes, NativeLibraryFiles.Library, NativeLibraryFiles.Version, Allowed);
        return act.Should().Throw<ElfPatchException>().Which.Message;
    }

    /// <summary>
    /// The file offset of the vna_flags of <paramref name="version"/> required from <paramref name="library"/>, its
    /// flags and version index, from <c>readelf -V</c> (the section's file offset plus the entry's offset in it, plus
    /// 4: vna_hash comes first). Skips the test when readelf is not installed.
    /// </summary>
    private static (long FlagsOffset, string Flags, int Index) ReadElfVernaux(string path, string library, string version)
    {
        var text = NativeLibraryFiles.ReadElf("-V", "-W", path);
        Skip.If(text is null, "readelf (binutils) is not installed: it finds the expected offset independently of the code under test");
        long? sectionOffset = null;
        string? file = null;
        foreach (var line in text!.Split('\n'))
        {
            if (line.StartsWith("Version needs section", StringComparison.Ordinal))
            {
                sectionOffset = -1;
                continue;
            }

            if (sectionOffset == -1 && SectionLine().Match(line) is { Success: true } section)
            {
                sectionOffset = long.Parse(section.Groups[1].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                continue;
            }

            if (sectionOffset is null or < 0)
            {
                continue;
            }

            if (NeedLine().Match(line) is { Success: true } need)
            {
                file = need.Groups[1].Value;
            }
            else if (AuxLine().Match(line) is { Success: true } aux && file == library && aux.Groups[2].Value == version)
            {
                var offset = long.Parse(aux.Groups[1].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                return (sectionOffset.Value + offset + 4, aux.Groups[3].Value, int.Parse(aux.Groups[4].Value, CultureInfo.InvariantCulture));
            }
        }

        throw new InvalidOperationException($"readelf -V lists no {version} needed from {library} in {path}:\n{text}");
    }

    [GeneratedRegex(@"^\s*Addr:\s*0x[0-9a-fA-F]+\s+Offset:\s*0x([0-9a-fA-F]+)")]
    private static partial Regex SectionLine();

    [GeneratedRegex(@"^\s*(?:0x)?[0-9a-fA-F]+:\s+Version:\s+\d+\s+File:\s+(\S+)")]
    private static partial Regex NeedLine();

    [GeneratedRegex(@"^\s*0x([0-9a-fA-F]+):\s+Name:\s+(\S+)\s+Flags:\s+(\S+)\s+Version:\s+(\d+)")]
    private static partial Regex AuxLine();
}
