// One measured row (a problem at one M and thread count, one implementation) with its in-run
// baselines and the ratios against them.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "problem_list.hpp"

namespace incq::bench {

struct Timing {
  std::vector<double> samples_us;  // per-call time of each repetition
  double us = 0;                   // median of samples_us; 0 when not measured
  int64_t calls = 0;               // calls made over all repetitions
  int copies = 0;                  // weight copies rotated through
  std::string error;               // why it was not measured
  bool measured() const { return us > 0 && error.empty(); }
};

struct ResultRow {
  Problem problem;  // tokens holds the one M of this row
  int64_t M = 0;
  int threads = 0;
  std::string impl;          // implementation name, or the baseline's name
  std::string how;           // "auto", "--impl", "all", "reference", "baseline"
  bool primary = false;      // the problem's first candidate: what the targets mode judges
  bool is_reference = false;
  std::string compute_type;  // "" = the implementation's default
  std::string detail;        // oneDNN's implementation string, the reference's policy ...
  Timing t;
  uint64_t bytes = 0;  // weights + scales + zeros (touched experts for MoE) + activations in and out
  uint64_t weight_bytes = 0;
  double flops = 0;
  // Filled after the repetitions from the baselines of the same problem, M and threads.
  double read_gbps = 0;
  double onednn_bf16_us = 0, onednn_f32_us = 0, reference_us = 0;
  double bw_bound_us = 0;  // weight bytes (touched experts for MoE) / read bandwidth
  double bf16_weight_bytes = 0;

  double gbps() const { return t.measured() ? static_cast<double>(bytes) / (t.us * 1e3) : 0; }
  double gflops() const { return t.measured() ? flops / (t.us * 1e3) : 0; }
  nlohmann::ordered_json to_json() const;
};

}  // namespace incq::bench
