// JSON parsing for checkpoint files that refuses what nlohmann::json would silently accept.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace incq::host::st::detail {

// Parses `text` as JSON. Throws incq::host::Error starting with `what` (the file path) when it is
// not valid JSON, repeats a key inside one object (nlohmann keeps the last one silently, which
// would let two entries of the same tensor name pass unnoticed), or nests deeper than any
// checkpoint file legitimately does.
nlohmann::json parse_strict_json(std::string_view text, const std::string& what);

}  // namespace incq::host::st::detail
