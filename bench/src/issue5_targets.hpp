// Issue 5's numbered targets, judged from the rows of one run (ratios only: every figure is
// measured against a baseline of the same run). Targets 1-5 are judged at every thread count of
// the run; 6-7 need a 16-thread run and 8 both 1 and 16 threads (the 16-core Xeon). Each target
// judges the primary candidate (the host's automatic choice by default) when it was measured, else
// the fastest measured candidate, and names the implementation it judged.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "bench_result.hpp"

namespace incq::bench {

struct TargetVerdict {
  int target = 0;
  std::string what;         // "decode 4096x14336 time / oneDNN bf16"
  int threads = 0;
  std::string implementation;
  double measured = 0;      // the ratio; 0 when not measured
  std::string goal;         // "<= 0.35"
  std::string status;       // "MET", "MISSED", "NOT MEASURED"
  std::string note;         // why not measured, or the gap

  nlohmann::ordered_json to_json() const;
};

std::vector<TargetVerdict> judge_targets(const std::vector<ResultRow>& rows, const std::vector<int>& threads);

std::string targets_table(const std::vector<TargetVerdict>& v);

}  // namespace incq::bench
