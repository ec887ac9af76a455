/* The layout of the ABI's structs as one compiler saw them: the C11 and the C++17 translation units
 * each fill these tables from plugin_api.h, and test_abi_header.cpp compares the two. */
#ifndef INCQ_TESTS_ABI_LAYOUT_H
#define INCQ_TESTS_ABI_LAYOUT_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct abi_field_layout {
  const char *name; /* "incq_tensor.shape" */
  size_t offset;
  size_t size;
} abi_field_layout;

typedef struct abi_type_layout {
  const char *name; /* "incq_tensor" */
  size_t size;
  size_t align;
} abi_type_layout;

/* What INCQ_HAS_FIELD answered for structs whose struct_size was set by hand (1 = has it). */
typedef struct has_field_answers {
  int null_pointer;                 /* NULL incq_error*, field code */
  int error_size_before_code;       /* struct_size = offsetof(code): code */
  int error_size_through_code_code; /* struct_size = end of code: code */
  int error_size_through_code_msg;  /* ... and message */
  int error_full_message;           /* struct_size = sizeof: message */
  int availability_one_byte_short;  /* struct_size = sizeof - 1: detail */
  int desc_before_resident_destroy; /* impl desc ending where resident_bytes starts: destroy */
  int desc_before_resident_resident;/* ... and resident_bytes */
} has_field_answers;

extern const abi_field_layout c_abi_fields[];
extern const size_t c_abi_field_count;
extern const abi_type_layout c_abi_types[];
extern const size_t c_abi_type_count;
has_field_answers c_has_field_answers(void);

extern const abi_field_layout cpp_abi_fields[];
extern const size_t cpp_abi_field_count;
extern const abi_type_layout cpp_abi_types[];
extern const size_t cpp_abi_type_count;
has_field_answers cpp_has_field_answers(void);

#ifdef __cplusplus
}
#endif

#endif
