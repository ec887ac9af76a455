// plugin_api.h as a strict C++17 compiler sees it (built with -std=c++17 -Werror -Wall -Wextra -pedantic).
#include <cstring>

#include "abi_layout.h"
#include "incq/plugin_api.h"

extern "C" {
#define LAYOUT(name) cpp_##name
#define ALIGN_OF(type) alignof(type)
#include "abi_layout_tables.inc"
}
