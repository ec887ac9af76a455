#include "machine_info.hpp"

#include <fmt/format.h>
#include <sys/utsname.h>

#include <filesystem>
#include <fstream>
#include <oneapi/dnnl/dnnl.hpp>
#include <set>
#include <sstream>
#include <thread>

namespace incq::bench {

namespace {

std::string read_first_line(const std::string& path) {
  std::ifstream f(path);
  std::string s;
  std::getline(f, s);
  return s;
}

// sysfs cache sizes read like "266240K" or "32M".
uint64_t parse_size(const std::string& s) {
  if (s.empty()) return 0;
  uint64_t v = 0;
  size_t i = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) v = v * 10 + static_cast<uint64_t>(s[i++] - '0');
  const char unit = i < s.size() ? s[i] : ' ';
  if (unit == 'K') v <<= 10;
  if (unit == 'M') v <<= 20;
  if (unit == 'G') v <<= 30;
  return v;
}

std::string onednn_isa_name(dnnl::cpu_isa isa) {
  switch (isa) {
    case dnnl::cpu_isa::sse41: return "sse41";
    case dnnl::cpu_isa::avx: return "avx";
    case dnnl::cpu_isa::avx2: return "avx2";
    case dnnl::cpu_isa::avx2_vnni: return "avx2_vnni";
    case dnnl::cpu_isa::avx512_core: return "avx512_core";
    case dnnl::cpu_isa::avx512_core_vnni: return "avx512_core_vnni";
    case dnnl::cpu_isa::avx512_core_bf16: return "avx512_core_bf16";
    case dnnl::cpu_isa::avx512_core_amx: return "avx512_core_amx";
    default: return fmt::format("isa#{}", static_cast<int>(isa));
  }
}

}  // namespace

MachineInfo probe_machine() {
  MachineInfo m;
  m.logical_cpus = static_cast<int>(std::thread::hardware_concurrency());
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::set<std::pair<std::string, std::string>> cores;
  std::string line, phys, flags;
  while (std::getline(cpuinfo, line)) {
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string key = line.substr(0, colon);
    key.erase(key.find_last_not_of(" \t") + 1);
    const std::string value = colon + 2 <= line.size() ? line.substr(colon + 2) : "";
    if (key == "model name" && m.cpu_model.empty()) m.cpu_model = value;
    if (key == "physical id") phys = value;
    if (key == "core id") cores.insert({phys, value});
    if (key == "flags" && flags.empty()) flags = value;
  }
  m.physical_cores = cores.empty() ? m.logical_cpus : static_cast<int>(cores.size());
  static const char* wanted[] = {"avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512dq",
                                 "avx512_vnni", "avx_vnni", "avx512_bf16", "avx512_fp16", "amx_tile",
                                 "amx_bf16", "amx_int8"};
  std::set<std::string> have;
  std::istringstream fs(flags);
  for (std::string f; fs >> f;) have.insert(f);
  for (const char* w : wanted)
    if (have.count(w)) m.isa.push_back(w);

  namespace fsys = std::filesystem;
  std::error_code ec;
  for (const auto& entry : fsys::directory_iterator("/sys/devices/system/cpu/cpu0/cache", ec)) {
    const std::string dir = entry.path().string();
    if (entry.path().filename().string().rfind("index", 0) != 0) continue;
    const std::string type = read_first_line(dir + "/type");
    if (type == "Instruction") continue;
    const int level = std::atoi(read_first_line(dir + "/level").c_str());
    const uint64_t size = parse_size(read_first_line(dir + "/size"));
    if (level > m.llc_level || (level == m.llc_level && size > m.llc_bytes)) {
      m.llc_level = level;
      m.llc_bytes = size;
    }
  }
  const dnnl_version_t* v = dnnl_version();
  m.onednn_version = fmt::format("{}.{}.{} ({})", v->major, v->minor, v->patch, v->hash ? v->hash : "");
  m.onednn_isa = onednn_isa_name(dnnl::get_effective_cpu_isa());
  struct utsname u {};
  if (uname(&u) == 0) m.kernel = fmt::format("{} {}", u.sysname, u.release);
  return m;
}

nlohmann::ordered_json MachineInfo::to_json() const {
  return {{"cpu_model", cpu_model}, {"logical_cpus", logical_cpus}, {"physical_cores", physical_cores},
          {"isa", isa},             {"llc_level", llc_level},       {"llc_bytes", llc_bytes},
          {"onednn_version", onednn_version}, {"onednn_isa", onednn_isa}, {"kernel", kernel}};
}

std::string MachineInfo::to_text() const {
  std::string isas;
  for (const auto& i : isa) isas += (isas.empty() ? "" : " ") + i;
  return fmt::format(
      "CPU: {} | {} logical CPUs, {} physical cores | L{} cache {:.0f} MiB\n"
      "ISA: {}\noneDNN {} (effective ISA {}) | {}\n",
      cpu_model, logical_cpus, physical_cores, llc_level, static_cast<double>(llc_bytes) / (1 << 20), isas,
      onednn_version, onednn_isa, kernel);
}

}  // namespace incq::bench
