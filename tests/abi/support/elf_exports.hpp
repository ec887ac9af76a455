// The symbols a shared library exports, read from its ELF .dynsym section with <elf.h> alone (no
// external tool): what a dlopen/dlsym caller can see.
#pragma once

#include <string>
#include <vector>

namespace incq::abi_test {

// Names of the defined (not imported) global or weak symbols with default or protected visibility
// in the dynamic symbol table of a 64-bit little-endian ELF file. Throws std::runtime_error on a file
// that is not one.
std::vector<std::string> exported_dynamic_symbols(const std::string& path);

}  // namespace incq::abi_test
