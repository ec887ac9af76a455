// What the run measured on: CPU model, cores, ISA flags, last-level cache (from sysfs), oneDNN.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace incq::bench {

struct MachineInfo {
  std::string cpu_model;
  int logical_cpus = 0;
  int physical_cores = 0;
  std::vector<std::string> isa;  // the flags that matter for these kernels, as /proc/cpuinfo names them
  uint64_t llc_bytes = 0;        // 0 when sysfs does not say
  int llc_level = 0;
  std::string onednn_version;
  std::string onednn_isa;  // oneDNN's effective ISA
  std::string kernel;      // uname -sr

  nlohmann::ordered_json to_json() const;
  std::string to_text() const;
};

MachineInfo probe_machine();

}  // namespace incq::bench
