// What one incq_bench run measures and how (command-line options, see bench/README.md).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "incq/plugin_api.h"

namespace incq::bench {

struct BenchOptions {
  // Candidates per problem: "all" (every registered non-reference implementation that accepts the
  // layer), "auto" (the host's automatic selection), a plugin name (the host's selection forced to
  // that plugin) or an implementation name. Empty = {"auto", "all"}.
  std::vector<std::string> impls;
  std::vector<std::string> backends;  // like --impl PLUGIN
  std::vector<int> threads;           // each thread count is a separate run of every problem
  std::string compute_type;           // layer option compute_type for candidates; "" = not passed
  int32_t act_dtype = INCQ_DTYPE_BF16;
  int reps = 5;                       // interleaved repetitions; the median is reported
  int ref_reps = 3;                   // the reference: few repetitions...
  double ref_max_gflop = 0.6;         // ...and only problems up to this many GFLOP per call
  bool reference = true;
  bool onednn = true;
  uint64_t cold_bytes = 0;            // bytes of weight copies to rotate through; 0 = 4 x LLC
  uint64_t bw_bytes = 0;              // read-bandwidth buffer; 0 = max(1 GiB, 4 x LLC)
  int bw_reps = 5;
  double min_rep_ms = 20;             // a repetition calls the layer on fresh copies for at least this long
  int max_copies = 4096;
  uint64_t seed = 1;
  bool quick = false;
};

}  // namespace incq::bench
