// plugin_api.h compiles as strict C11 and strict C++17 (header_layout_c.c, header_layout_cpp.cpp are
// built with -Werror -pedantic), and both languages lay every ABI struct out the same way: a plugin
// written in C and a host written in C++ read the same bytes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "abi_layout.h"
#include "incq/plugin_api.h"

namespace {


TEST(AbiHeader, CAndCppSeeTheSameFields) {
  ASSERT_EQ(c_abi_field_count, cpp_abi_field_count);
  ASSERT_GT(c_abi_field_count, 80u);  // every field of every struct is listed
  for (size_t i = 0; i < c_abi_field_count; ++i) {
    SCOPED_TRACE(c_abi_fields[i].name);
    EXPECT_STREQ(c_abi_fields[i].name, cpp_abi_fields[i].name);
    EXPECT_EQ(c_abi_fields[i].offset, cpp_abi_fields[i].offset);
    EXPECT_EQ(c_abi_fields[i].size, cpp_abi_fields[i].size);
  }
}

TEST(AbiHeader, CAndCppSeeTheSameTypeSizesAndAlignment) {
  ASSERT_EQ(c_abi_type_count, cpp_abi_type_count);
  for (size_t i = 0; i < c_abi_type_count; ++i) {
    SCOPED_TRACE(c_abi_types[i].name);
    EXPECT_STREQ(c_abi_types[i].name, cpp_abi_types[i].name);
    EXPECT_EQ(c_abi_types[i].size, cpp_abi_types[i].size);
    EXPECT_EQ(c_abi_types[i].align, cpp_abi_types[i].align);
  }
}

// Enums travel as int32_t fields, but entries return incq_status: it must be 4 bytes in both.
TEST(AbiHeader, EnumsAreFourBytesInBothLanguages) {
  for (size_t i = 0; i < c_abi_type_count; ++i) {
    const std::string name = c_abi_types[i].name;
    if (name == "incq_status" || name == "incq_dtype") {
      EXPECT_EQ(c_abi_types[i].size, 4u) << name;
      EXPECT_EQ(cpp_abi_types[i].size, 4u) << name;
    }
  }
}

// The structs embedded by value or used as array elements are frozen for 1.x (header rules). These
// numbers are derived by hand from the LP64 layout; a change to either struct breaks every plugin.
TEST(AbiHeader, FrozenStructsKeepTheirLp64Layout) {
  static_assert(sizeof(void*) == 8 && sizeof(size_t) == 8, "these expectations are for LP64");
  EXPECT_EQ(sizeof(incq_scheme), 64u);  // size_t + 14 int32_t = 64
  EXPECT_EQ(offsetof(incq_scheme, block_k), 48u);
  EXPECT_EQ(offsetof(incq_scheme, act_sym), 60u);
  EXPECT_EQ(sizeof(incq_tensor), 104u);
  EXPECT_EQ(offsetof(incq_tensor, shape), 24u);
  EXPECT_EQ(offsetof(incq_tensor, strides), 56u);
  EXPECT_EQ(offsetof(incq_tensor, byte_offset), 88u);
  EXPECT_EQ(offsetof(incq_tensor, device_index), 100u);
  EXPECT_EQ(sizeof(incq_named_tensor), 112u);
  EXPECT_EQ(offsetof(incq_named_tensor, tensor), 8u);
  // Out-structs the caller sizes: struct_size must be first in every one of them.
  EXPECT_EQ(offsetof(incq_error, struct_size), 0u);
  EXPECT_EQ(offsetof(incq_availability, struct_size), 0u);
  EXPECT_EQ(sizeof(incq_error), 1040u);
}

void expect_has_field_answers(const has_field_answers& a) {
  EXPECT_EQ(a.null_pointer, 0);
  EXPECT_EQ(a.error_size_before_code, 0);
  EXPECT_EQ(a.error_size_through_code_code, 1);
  EXPECT_EQ(a.error_size_through_code_msg, 0);
  EXPECT_EQ(a.error_full_message, 1);
  EXPECT_EQ(a.availability_one_byte_short, 0);
  EXPECT_EQ(a.desc_before_resident_destroy, 1);
  EXPECT_EQ(a.desc_before_resident_resident, 0);
}

TEST(AbiHeader, HasFieldHonoursAShortStructSizeInC) {
  SCOPED_TRACE("C11");
  expect_has_field_answers(c_has_field_answers());
}

TEST(AbiHeader, HasFieldHonoursAShortStructSizeInCpp) {
  SCOPED_TRACE("C++17");
  expect_has_field_answers(cpp_has_field_answers());
}

}  // namespace
