#include "expected_scheme.hpp"

#include <fmt/format.h>

namespace incq::autoround_test {

namespace {

int32_t family_of(const std::string& data_type) {
  if (data_type == "int") return INCQ_FAMILY_INT;
  if (data_type == "fp") return INCQ_FAMILY_FP8;
  if (data_type == "mx_fp" || data_type == "mx_fp_rceil") return INCQ_FAMILY_MX_FP;
  if (data_type == "nv_fp") return INCQ_FAMILY_NV_FP;
  if (data_type == "mx_int") return INCQ_FAMILY_MX_INT;
  return -1;
}

}  // namespace

int32_t packing_of_autoround_class(const std::string& cls, const nlohmann::json& s) {
  // Facts from AutoRound 0.16.1: its exporter packs auto_round:auto_gptq and plain GPTQ with
  // qlinear_torch_zp (stores zero - 1), "auto_round" and auto_round:gptqmodel with qlinear_torch
  // (stores the zero), AWQ with WQLinear_GEMM; its readers are the same classes.
  if (cls == "auto_round_extension.torch.qlinear_torch_zp.QuantLinear") return INCQ_PACKING_GPTQ_V1;
  if (cls == "auto_round_extension.torch.qlinear_torch.QuantLinear") return INCQ_PACKING_GPTQ_V2;
  if (cls == "auto_round.export.export_to_awq.utils.WQLinear_GEMM") return INCQ_PACKING_AWQ;
  // MX / NV modules read weight_packed (+ weight_scale [+ weight_global_scale]): the
  // llm_compressor tensor layout, whatever packing_format string the config carries.
  if (cls.rfind("auto_round.experimental.qmodules.mx.", 0) == 0 ||
      cls.rfind("auto_round.experimental.qmodules.nvfp4.", 0) == 0)
    return INCQ_PACKING_LLM_COMPRESSOR;
  if (cls.empty() && s.value("data_type", "") == "fp")
    return s.at("group_size").is_array() ? INCQ_PACKING_FP8_BLOCK : INCQ_PACKING_FP8;
  return -1;
}

std::vector<std::string> scheme_mismatches(const nlohmann::json& entry, const host::LayerScheme& incq) {
  std::vector<std::string> out;
  const nlohmann::json& s = entry.at("autoround_scheme");
  const int bits = s.at("bits").get<int>();
  auto differ = [&](const char* field, const std::string& autoround, const std::string& ours) {
    if (autoround != ours) out.push_back(fmt::format("{}: AutoRound {} vs incq {}", field, autoround, ours));
  };
  differ("quantized", bits < 16 ? "yes" : "no", incq.quantized ? "yes" : "no");
  if (bits >= 16 || !incq.quantized) return out;
  const incq_scheme& q = incq.scheme;
  differ("bits", std::to_string(bits), std::to_string(q.bits));
  const std::string dt = s.at("data_type").get<std::string>();
  if (family_of(dt) != q.family)
    out.push_back(fmt::format("family: AutoRound data_type '{}' (family {}) vs incq family {}", dt, family_of(dt), q.family));
  if (s.at("group_size").is_array()) {
    differ("block", s.at("group_size").dump(), fmt::format("[{},{}]", q.block_n, q.block_k));
  } else {
    differ("group_size", std::to_string(s.at("group_size").get<int>()), std::to_string(q.group_size));
  }
  differ("sym", s.at("sym").get<bool>() ? "1" : "0", std::to_string(q.sym));
  const int act_bits = s.value("act_bits", 16);
  differ("act_bits", std::to_string(act_bits >= 16 ? 16 : act_bits), std::to_string(q.act_bits));
  const int32_t packing = packing_of_autoround_class(entry.value("module_class", ""), s);
  if (packing >= 0) differ("packing", std::to_string(packing), std::to_string(q.packing));
  if (dt == "fp") {
    // AutoRound 0.16.1 writes FP8 as e4m3 ("fmt": "e4m3" in the config).
    differ("weight_dtype", std::to_string(INCQ_DTYPE_F8_E4M3), std::to_string(q.weight_dtype));
  }
  return out;
}

}  // namespace incq::autoround_test
