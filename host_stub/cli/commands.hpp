// The `incq` subcommands, each a function from parsed options to an exit code.
#pragma once

#include <string>
#include <vector>

#include "core/host.hpp"
#include "core/verify.hpp"

namespace incq::cli {

struct Output {
  bool json = false;
};

int cmd_plugins(host::Host& host, const Output& out);
int cmd_inspect(host::Host& host, const std::string& model_dir, int32_t act_dtype, const Output& out);
int cmd_verify(host::Host& host, const std::string& model_dir, const host::VerifyOptions& opts, const Output& out);

struct QuickSynth {
  int bits = 4;
  int group_size = 128;
  bool asym = false;
  std::string packing_format = "auto_round:auto_gptq";
  int64_t hidden = 256;
  int64_t intermediate = 512;
  int64_t experts = 0;
  int top_k = 2;
  bool act_order = false;
  uint64_t seed = 1;
};
int cmd_synth(const std::string& spec_file, const QuickSynth& quick, const std::string& out_dir, const Output& out);
int cmd_demo(host::Host& host, const std::string& out_dir, const host::VerifyOptions& opts, const Output& out);

int32_t parse_act_dtype(const std::string& s);

}  // namespace incq::cli
