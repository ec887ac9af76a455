#include "problem_list.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "common/error.hpp"

namespace incq::bench {

using incq::host::Error;

std::string Problem::shape() const {
  if (is_moe()) return fmt::format("E{} k{} H{} I{}", experts, top_k, hidden, intermediate);
  return fmt::format("{}x{}", N, K);
}

namespace {

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  std::istringstream in(s);
  while (std::getline(in, cur, sep)) out.push_back(cur);
  return out;
}

int64_t positive(const std::string& v, const std::string& where) {
  size_t used = 0;
  int64_t x = 0;
  try {
    x = std::stoll(v, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != v.size() || x <= 0) throw Error(fmt::format("{}: '{}' is not a positive integer", where, v));
  return x;
}

std::vector<int64_t> positive_list(const std::string& v, const std::string& where) {
  std::vector<int64_t> out;
  for (const auto& p : split(v, ',')) out.push_back(positive(p, where));
  if (out.empty()) throw Error(fmt::format("{}: empty list", where));
  return out;
}

}  // namespace

std::vector<Problem> parse_problems(const std::string& text, const std::string& source) {
  std::vector<Problem> out;
  std::istringstream in(text);
  std::string line;
  for (int lineno = 1; std::getline(in, line); ++lineno) {
    const size_t hash = line.find('#');
    if (hash != std::string::npos) line.resize(hash);
    std::istringstream words(line);
    std::string kind;
    if (!(words >> kind)) continue;
    const std::string where = fmt::format("{}:{}", source, lineno);
    if (kind != "linear" && kind != "moe")
      throw Error(fmt::format("{}: a problem line starts with 'linear' or 'moe', not '{}'", where, kind));
    std::map<std::string, std::string> kv;
    for (std::string tok; words >> tok;) {
      const size_t eq = tok.find('=');
      if (eq == std::string::npos || eq == 0 || eq + 1 == tok.size())
        throw Error(fmt::format("{}: token '{}' is not key=value", where, tok));
      kv[tok.substr(0, eq)] = tok.substr(eq + 1);
    }
    const std::vector<std::string> allowed =
        kind == "linear" ? std::vector<std::string>{"NK", "M", "scheme", "compute", "tag"}
                         : std::vector<std::string>{"E", "topk", "H", "I", "T", "scheme", "compute", "tag"};
    for (const auto& [k, v] : kv)
      if (std::find(allowed.begin(), allowed.end(), k) == allowed.end())
        throw Error(fmt::format("{}: unknown key '{}' for a {} problem", where, k, kind));
    auto need = [&](const char* k) -> const std::string& {
      auto it = kv.find(k);
      if (it == kv.end()) throw Error(fmt::format("{}: '{}' is required for a {} problem", where, k, kind));
      return it->second;
    };
    const std::string compute = kv.count("compute") ? kv["compute"] : "";
    if (!compute.empty() && compute != "fp32" && compute != "bf16" && compute != "int8" && compute != "auto")
      throw Error(fmt::format("{}: compute must be fp32, bf16, int8 or auto, not '{}'", where, compute));
    const std::vector<std::string> schemes = split(need("scheme"), ',');
    Problem base;
    base.kind = kind;
    base.compute = compute;
    base.tag = kv.count("tag") ? kv["tag"] : "";
    base.source = where;
    if (kind == "linear") {
      base.tokens = positive_list(need("M"), where + " M");
      for (const auto& nk : split(need("NK"), ',')) {
        const size_t x = nk.find('x');
        if (x == std::string::npos) throw Error(fmt::format("{}: NK entry '{}' is not NxK", where, nk));
        for (const auto& s : schemes) {
          Problem p = base;
          p.N = positive(nk.substr(0, x), where + " NK");
          p.K = positive(nk.substr(x + 1), where + " NK");
          p.scheme = s;
          out.push_back(p);
        }
      }
    } else {
      base.tokens = positive_list(need("T"), where + " T");
      for (int64_t e : positive_list(need("E"), where + " E"))
        for (int64_t k : positive_list(need("topk"), where + " topk"))
          for (int64_t h : positive_list(need("H"), where + " H"))
            for (int64_t i : positive_list(need("I"), where + " I"))
              for (const auto& s : schemes) {
                if (k > e) throw Error(fmt::format("{}: topk {} exceeds E {}", where, k, e));
                Problem p = base;
                p.experts = e;
                p.top_k = k;
                p.hidden = h;
                p.intermediate = i;
                p.N = p.K = h;
                p.scheme = s;
                out.push_back(p);
              }
    }
  }
  if (out.empty()) throw Error(fmt::format("{}: no problems", source));
  return out;
}

std::vector<Problem> read_problem_file(const std::string& path) {
  std::ifstream f(path);
  if (!f) throw Error(fmt::format("{}: cannot read the problem file", path));
  std::stringstream ss;
  ss << f.rdbuf();
  return parse_problems(ss.str(), path);
}

std::string find_problem_file(const std::string& name) {
  namespace fs = std::filesystem;
  if (name.find('/') != std::string::npos || fs::exists(name)) return name;
  std::vector<std::string> dirs;
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) dirs.push_back((exe.parent_path() / "problems").string());
#ifdef INCQ_BENCH_PROBLEM_DIR
  dirs.push_back(INCQ_BENCH_PROBLEM_DIR);
#endif
  for (const auto& d : dirs) {
    const fs::path p = fs::path(d) / (name + ".txt");
    if (fs::exists(p)) return p.string();
  }
  std::string looked;
  for (const auto& d : dirs) looked += (looked.empty() ? "" : ", ") + d;
  throw Error(fmt::format("problem list '{}' not found (looked for {}.txt in {})", name, name, looked));
}

std::vector<Problem> quick_problems() {
  return parse_problems(
      "linear NK=256x512 M=1,16 scheme=int4_g128\n"
      "linear NK=320x256 M=3 scheme=int8_g32_asym,fp8_e4m3_ch,mxfp4\n"
      "moe E=8 topk=2 H=256 I=128 T=1,4 scheme=int4_g128\n",
      "--quick");
}

}  // namespace incq::bench
