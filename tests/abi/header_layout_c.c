/* plugin_api.h as a strict C11 compiler sees it (built with -std=c11 -Wall -Wextra -Werror -pedantic). */
#include <string.h>

#include "abi_layout.h"
#include "incq/plugin_api.h"

#define LAYOUT(name) c_##name
#define ALIGN_OF(type) _Alignof(type)
#include "abi_layout_tables.inc"
