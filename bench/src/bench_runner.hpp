// Runs problem lists: per problem, synthesizes the weights once, loads every candidate
// implementation as many weight copies as cold caches need, then for each thread count and M
// times candidates and baselines in interleaved repetitions and keeps the medians.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "bench_options.hpp"
#include "bench_result.hpp"
#include "core/host.hpp"
#include "machine_info.hpp"
#include "problem_list.hpp"
#include "read_bandwidth.hpp"

namespace incq::bench {

class BenchRunner {
 public:
  BenchRunner(host::Host& host, BenchOptions options, MachineInfo machine);
  ~BenchRunner();

  // The streaming read bandwidth at every thread count (median of bw_reps passes).
  void measure_bandwidth();
  // Measures every problem; failures of one implementation become rows with an error.
  // on_group is called after each problem with the rows it added (to stream the table and JSON,
  // so a run cut short by a time limit still leaves what it measured).
  void run(const std::vector<Problem>& problems,
           const std::function<void(const std::vector<ResultRow>& added)>& on_group = {});

  const std::vector<ResultRow>& rows() const { return rows_; }
  const std::map<int, std::vector<double>>& bandwidth_samples() const { return bw_samples_; }
  double bandwidth_gbps(int threads) const;
  uint64_t cold_bytes() const { return cold_bytes_; }
  uint64_t bw_bytes() const { return bw_bytes_; }
  const BenchOptions& options() const { return o_; }
  const std::vector<std::string>& notes() const { return notes_; }

 private:
  struct Group;
  void run_group(const Problem& p);
  host::ThreadPool& pool(int threads);

  host::Host& host_;
  BenchOptions o_;
  MachineInfo machine_;
  uint64_t cold_bytes_ = 0, bw_bytes_ = 0;
  uint64_t seed_;
  std::map<int, std::unique_ptr<host::ThreadPool>> pools_;
  std::map<int, std::vector<double>> bw_samples_;
  std::unique_ptr<ReadBandwidth> bw_;  // kept for the passes interleaved with the layers
  std::map<int, size_t> best_reader_;        // per thread count
  std::vector<ResultRow> rows_;
  std::vector<std::string> notes_;
};

}  // namespace incq::bench
