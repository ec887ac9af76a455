// Problem lists (bench/problems/*.txt): one line per problem family, `key=value` tokens, comma lists
// expanded as a cartesian product — except the token counts, which stay a list because one set of
// weights serves every M (weights are synthesized and loaded once per shape and scheme).
//
//   linear NK=4096x4096,4096x14336 M=1,4,16 scheme=int4_g128,int4_g32 [compute=int8] [tag=t1]
//   moe E=64 topk=8 H=2048 I=1024 T=1,16,512 scheme=int4_g128 [compute=int8] [tag=t5]
//
// `#` starts a comment. `compute` overrides --compute-type for that line; `tag` names the line
// for the targets mode.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace incq::bench {

struct Problem {
  std::string kind;  // "linear" or "moe"
  std::string scheme;
  int64_t N = 0, K = 0;                                            // linear: out, in features
  int64_t experts = 0, top_k = 0, hidden = 0, intermediate = 0;  // moe
  std::vector<int64_t> tokens;                                    // M (linear) or T (moe)
  std::string compute;                                            // "" = --compute-type
  std::string tag;
  std::string source;  // "file:line", for messages

  bool is_moe() const { return kind == "moe"; }
  // "4096x14336" or "E64 k8 H2048 I1024".
  std::string shape() const;
};

// Throws incq::host::Error naming the file, line and token on a malformed line.
std::vector<Problem> parse_problems(const std::string& text, const std::string& source);
std::vector<Problem> read_problem_file(const std::string& path);

// A bare name ("decode") is looked up as <dir>/<name>.txt in the problem directories: next to
// the executable (bench/problems, as bench/device/pack.sh lays it out) and the source tree's.
std::string find_problem_file(const std::string& name_or_path);

// The built-in --quick list: tiny shapes of every family, for the CI smoke test.
std::vector<Problem> quick_problems();

}  // namespace incq::bench
