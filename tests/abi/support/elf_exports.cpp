#include "support/elf_exports.hpp"

#include <elf.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>

namespace incq::abi_test {

namespace {

// Copies a T out of the file image, checking it lies inside (no unaligned or out-of-bounds reads).
template <typename T>
T read_at(const std::vector<char>& image, uint64_t offset, const std::string& path) {
  if (offset > image.size() || image.size() - offset < sizeof(T))
    throw std::runtime_error(path + ": ELF structure at offset " + std::to_string(offset) + " lies past the file end");
  T value;
  std::memcpy(&value, image.data() + offset, sizeof value);
  return value;
}

}  // namespace

std::vector<std::string> exported_dynamic_symbols(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot open");
  const std::vector<char> image((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());

  const auto header = read_at<Elf64_Ehdr>(image, 0, path);
  if (std::memcmp(header.e_ident, ELFMAG, SELFMAG) != 0) throw std::runtime_error(path + ": not an ELF file");
  if (header.e_ident[EI_CLASS] != ELFCLASS64 || header.e_ident[EI_DATA] != ELFDATA2LSB)
    throw std::runtime_error(path + ": not a 64-bit little-endian ELF file");
  if (header.e_shentsize != sizeof(Elf64_Shdr)) throw std::runtime_error(path + ": unexpected section header size");

  std::vector<std::string> names;
  bool found_dynsym = false;
  for (uint16_t i = 0; i < header.e_shnum; ++i) {
    const auto section = read_at<Elf64_Shdr>(image, header.e_shoff + uint64_t{i} * sizeof(Elf64_Shdr), path);
    if (section.sh_type != SHT_DYNSYM) continue;
    found_dynsym = true;
    if (section.sh_entsize != sizeof(Elf64_Sym)) throw std::runtime_error(path + ": unexpected symbol size");
    if (section.sh_link >= header.e_shnum) throw std::runtime_error(path + ": .dynsym links no string table");
    const auto strings =
        read_at<Elf64_Shdr>(image, header.e_shoff + uint64_t{section.sh_link} * sizeof(Elf64_Shdr), path);
    const uint64_t count = section.sh_size / sizeof(Elf64_Sym);
    for (uint64_t s = 1; s < count; ++s) {  // entry 0 is the reserved null symbol
      const auto sym = read_at<Elf64_Sym>(image, section.sh_offset + s * sizeof(Elf64_Sym), path);
      const unsigned bind = ELF64_ST_BIND(sym.st_info);
      const unsigned visibility = ELF64_ST_VISIBILITY(sym.st_other);
      const bool defined = sym.st_shndx != SHN_UNDEF;
      const bool global = bind == STB_GLOBAL || bind == STB_WEAK || bind == STB_GNU_UNIQUE;
      const bool visible = visibility == STV_DEFAULT || visibility == STV_PROTECTED;
      if (!defined || !global || !visible) continue;
      if (sym.st_name >= strings.sh_size) throw std::runtime_error(path + ": symbol name outside its string table");
      const uint64_t start = strings.sh_offset + sym.st_name;
      const uint64_t limit = strings.sh_offset + strings.sh_size;
      if (limit > image.size()) throw std::runtime_error(path + ": string table lies past the file end");
      const char* begin = image.data() + start;
      names.emplace_back(begin, strnlen(begin, limit - start));
    }
  }
  if (!found_dynsym) throw std::runtime_error(path + ": no .dynsym section");
  return names;
}

}  // namespace incq::abi_test
