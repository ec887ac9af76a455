// The run's output: a text table (one line per implementation and baseline) and the JSON file.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "bench_runner.hpp"
#include "issue5_targets.hpp"

namespace incq::bench {

std::string results_header();
// Rows without the header; a blank line before each problem block.
std::string results_table(const std::vector<ResultRow>& rows);
nlohmann::ordered_json run_json(const BenchRunner& run, const MachineInfo& machine, const std::string& command_line,
                                const std::vector<TargetVerdict>* targets);

}  // namespace incq::bench
