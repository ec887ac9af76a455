// Readable names of ABI enum values, for messages.
#ifndef INCQ_INC_CPU_ENUM_NAMES_HPP
#define INCQ_INC_CPU_ENUM_NAMES_HPP

#include <cstdint>
#include <string>

namespace incq::inc_cpu {

std::string family_name(int32_t family);
std::string packing_name(int32_t packing);
std::string device_type_name(int32_t device_type);

}  // namespace incq::inc_cpu

#endif
