// The host's one exception type. Messages name the file, layer and field they are about, so a
// user can act on them without a debugger.
#pragma once

#include <stdexcept>
#include <string>

namespace incq::host {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace incq::host
