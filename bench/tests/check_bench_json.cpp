// Checks an incq_bench JSON file: well formed, machine info present, a positive bandwidth, and every
// measured row with positive, finite timings. No timing assertions (speed lives in the benchmark).
#include <cmath>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

namespace {
int fail(const std::string& why) {
  std::cerr << "check_bench_json: " << why << "\n";
  return 1;
}
}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) return fail("usage: check_bench_json FILE");
  std::ifstream f(argv[1]);
  if (!f) return fail(std::string("cannot read ") + argv[1]);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(f);
  } catch (const std::exception& e) {
    return fail(std::string("not JSON: ") + e.what());
  }
  if (!j.contains("machine") || !j["machine"].contains("cpu_model")) return fail("no machine info");
  if (!j.contains("read_bandwidth") || j["read_bandwidth"].empty()) return fail("no read bandwidth");
  for (const auto& b : j["read_bandwidth"])
    if (!b["GBps"].is_number() || !(b["GBps"].get<double>() > 0)) return fail("read bandwidth not positive");
  if (!j.contains("results") || !j["results"].is_array()) return fail("no results");
  int measured = 0, onednn = 0, plugin = 0;
  for (const auto& r : j["results"]) {
    for (const char* k : {"shape", "M", "scheme", "implementation", "threads", "us", "GBps", "GFLOPps", "baselines", "ratios"})
      if (!r.contains(k)) return fail(std::string("a result lacks '") + k + "': " + r.dump());
    if (r["us"].is_null()) continue;
    const double us = r["us"].get<double>();
    if (!(us > 0) || !std::isfinite(us)) return fail("a non-positive time: " + r.dump());
    for (const auto& s : r["us_samples"])
      if (!(s.get<double>() > 0)) return fail("a non-positive sample: " + r.dump());
    ++measured;
    const std::string impl = r["implementation"];
    if (impl.rfind("onednn.", 0) == 0) ++onednn;
    else if (r["selected_by"] != "baseline") ++plugin;
  }
  if (onednn == 0) return fail("no oneDNN baseline was measured");
  if (plugin == 0) return fail("no plugin implementation was measured");
  std::cout << "check_bench_json: " << measured << " measured rows (" << plugin << " plugin, " << onednn << " oneDNN)\n";
  return 0;
}
