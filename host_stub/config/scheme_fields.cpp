#include "config/scheme_fields.hpp"

#include <fmt/format.h>

#include "common/error.hpp"

namespace incq::host {
namespace {

using ojson = nlohmann::ordered_json;

// The value of the first present, non-null key of `keys`, with the key it was found under.
const ojson* find_key(const ojson& obj, std::initializer_list<const char*> keys, std::string& found) {
  for (const char* k : keys) {
    auto it = obj.find(k);
    if (it != obj.end() && !it->is_null()) {
      found = k;
      return &*it;
    }
  }
  return nullptr;
}

int read_int(const ojson& v, const ConfigPath& at, const std::string& key) {
  if (!v.is_number_integer() || v.get<int64_t>() < -1000000 || v.get<int64_t>() > 1000000)
    fail_key(at, key, fmt::format("expected an integer, got {}", v.dump()));
  return v.get<int>();
}

bool read_bool(const ojson& v, const ConfigPath& at, const std::string& key) {
  if (!v.is_boolean()) fail_key(at, key, fmt::format("expected true or false, got {}", v.dump()));
  return v.get<bool>();
}

enum class DataKind { Dense, Int, MxInt, Fp8, MxFp, NvFp };

// AutoRound data_type strings. "fp" is the standard float type: 8 bits is FP8, 16 is dense.
std::optional<DataKind> data_kind(const std::string& t) {
  if (t == "int") return DataKind::Int;
  if (t == "mx_int") return DataKind::MxInt;
  if (t == "fp" || t == "fp8" || t == "fp8_e4m3" || t == "fp8_e4m3fn" || t == "fp8_e5m2")
    return DataKind::Fp8;
  // "mx_fp_rceil" rounds the shared exponent up when quantizing; the stored format is MX's.
  if (t == "mx_fp" || t == "mx_fp_rceil") return DataKind::MxFp;
  // NVFP4 activations: "nv_fp4_with_static_gs" is AutoRound's name for a stored input global scale.
  if (t == "nv_fp" || t == "nv_fp4" || t == "nv_fp4_with_static_gs") return DataKind::NvFp;
  if (t == "float" || t == "fp16" || t == "bf16" || t == "float16" || t == "bfloat16" ||
      t == "fp32" || t == "float32")
    return DataKind::Dense;
  return std::nullopt;
}

std::string bits_problem(const SchemeFields& f, const char* allowed) {
  return fmt::format("{} is not a supported bit width for data_type '{}' (expected {}, or >= 16 "
                     "for a dense layer)", f.bits, f.data_type, allowed);
}

bool is_gptq_or_awq(const PackingFormat& p) {
  return p.packing == INCQ_PACKING_GPTQ_V1 || p.packing == INCQ_PACKING_GPTQ_V2 ||
         p.packing == INCQ_PACKING_AWQ;
}

[[noreturn]] void fail_packing(const ConfigPath& at, const SchemeFields& f, const PackingFormat& p) {
  fail_key(at, "data_type",
           fmt::format("data_type '{}' cannot be stored with packing_format '{}'{}", f.data_type,
                       p.name, p.defaulted ? " (the default when packing_format is absent)" : ""));
}

}  // namespace

void fail_key(const ConfigPath& at, const std::string& key, const std::string& problem) {
  throw Error(fmt::format("{}: {}.{}: {}", at.source, at.object, key, problem));
}

void read_scheme_fields(const ojson& obj, const ConfigPath& at, SchemeFields& f) {
  std::string key;
  if (const ojson* v = find_key(obj, {"bits", "w_bit"}, key)) {
    f.bits = read_int(*v, at, key);
    if (f.bits < 1) fail_key(at, key, fmt::format("bits must be positive, got {}", f.bits));
  }
  if (const ojson* v = find_key(obj, {"group_size", "q_group_size"}, key)) {
    if (v->is_array()) {
      // [n, k]: AutoRound's block-wise FP8 writes its block as the group size.
      if (v->size() != 2)
        fail_key(at, key, fmt::format("a block group_size must be [n, k], got {}", v->dump()));
      const int n = read_int((*v)[0], at, key), k = read_int((*v)[1], at, key);
      if (n <= 0 || k <= 0)
        fail_key(at, key, fmt::format("block sizes must be positive, got {}", v->dump()));
      f.group_block = std::array<int, 2>{n, k};
    } else {
      f.group_size = read_int(*v, at, key);
      f.group_block.reset();
      // 0 is AutoRound's per-tensor (FP8 only), checked once the data type is known.
      if (f.group_size < -1)
        fail_key(at, key, fmt::format("{} is not a group size (expected -1 for one group over K, "
                                      "or a positive size)", f.group_size));
    }
  }
  if (const ojson* v = find_key(obj, {"sym"}, key)) {
    f.sym = read_bool(*v, at, key);
  } else if (const ojson* zp = find_key(obj, {"zero_point"}, key)) {
    f.sym = !read_bool(*zp, at, key);  // AWQ: zero_point true means asymmetric
  }
  if (const ojson* v = find_key(obj, {"data_type"}, key)) {
    if (!v->is_string()) fail_key(at, key, fmt::format("expected a string, got {}", v->dump()));
    f.data_type = v->get<std::string>();
    if (!data_kind(f.data_type))
      fail_key(at, key, fmt::format("unknown data_type '{}' (known: int, mx_int, fp, fp8, "
                                    "fp8_e4m3, fp8_e5m2, mx_fp, mx_fp_rceil, nv_fp, and the dense "
                                    "float, fp16, bf16, fp32)", f.data_type));
  }
  if (const ojson* v = find_key(obj, {"act_bits"}, key)) {
    f.act_bits = read_int(*v, at, key);
    if (f.act_bits != 4 && f.act_bits != 8 && f.act_bits < 16)
      fail_key(at, key, fmt::format("{} is not a supported activation bit width (expected 4, 8, "
                                    "or >= 16 for unquantized activations)", f.act_bits));
  }
  if (const ojson* v = find_key(obj, {"act_dynamic"}, key)) f.act_dynamic = read_bool(*v, at, key);
  if (const ojson* v = find_key(obj, {"act_data_type"}, key)) {
    if (!v->is_string()) fail_key(at, key, fmt::format("expected a string, got {}", v->dump()));
    const std::string t = v->get<std::string>();
    // AutoRound writes "float" (or fp16/bf16) for layers whose activations stay unquantized.
    if (!data_kind(t))
      fail_key(at, key, fmt::format("unknown activation data_type '{}' (known: int, fp, fp8_e4m3, mx_fp, mx_int, "
                                    "nv_fp, nv_fp4_with_static_gs, and float/fp16/bf16 for unquantized)", t));
    f.act_data_type = t;
  }
  if (const ojson* v = find_key(obj, {"act_group_size"}, key)) {
    const int g = read_int(*v, at, key);
    if (g < -1 || g == 0)
      fail_key(at, key, fmt::format("{} is not an activation group size (expected -1 for per token, or positive)", g));
    f.act_group_size = g;
  }
  if (const ojson* v = find_key(obj, {"act_sym"}, key)) f.act_sym = read_bool(*v, at, key);
}

LayerScheme dense_layer(std::string rule) {
  LayerScheme s;
  s.scheme.struct_size = sizeof(incq_scheme);
  s.scheme.family = INCQ_FAMILY_DENSE;
  s.scheme.packing = INCQ_PACKING_NONE;
  s.scheme.act_bits = 16;
  s.rule = std::move(rule);
  return s;
}

LayerScheme build_layer_scheme(const SchemeFields& f, const SchemeContext& ctx, const ConfigPath& at,
                               std::string rule) {
  const DataKind kind = data_kind(f.data_type).value();  // read_scheme_fields checked it
  if (kind == DataKind::Dense) {
    LayerScheme d = dense_layer(rule + fmt::format(": data_type '{}' -> dense", f.data_type));
    d.data_type = f.data_type;
    return d;
  }
  if (f.bits >= 16) {
    LayerScheme d = dense_layer(rule + fmt::format(": bits={} -> dense", f.bits));
    d.data_type = f.data_type;
    return d;
  }

  LayerScheme s;
  s.quantized = true;
  s.rule = std::move(rule);
  s.data_type = f.data_type;
  s.packing_format = ctx.packing.name;
  incq_scheme& q = s.scheme;
  q.struct_size = sizeof(incq_scheme);
  q.bits = f.bits;
  q.group_size = f.group_size;
  q.sym = f.sym ? 1 : 0;
  q.packing = ctx.packing.packing;

  const bool block_group = f.group_block.has_value();
  if (kind != DataKind::Fp8) {
    if (block_group) fail_key(at, "group_size", "a [n, k] block group size is only valid for FP8");
    if (f.group_size == 0)
      fail_key(at, "group_size", fmt::format("0 (per tensor) is only valid for FP8, not data_type "
                                             "'{}'", f.data_type));
  }

  switch (kind) {
    case DataKind::Int:
      q.family = INCQ_FAMILY_INT;
      if (f.bits != 2 && f.bits != 3 && f.bits != 4 && f.bits != 8)
        fail_key(at, "bits", bits_problem(f, "2, 3, 4 or 8"));
      if (!is_gptq_or_awq(ctx.packing)) fail_packing(at, f, ctx.packing);
      break;
    case DataKind::MxInt:
      // AutoRound (0.16.1) writes MXINT under packing_format "auto_round", but its tensors are the
      // MX ones, not GPTQ's: weight_packed U8 [N, K/2] (two 4-bit codes per byte) and weight_scale
      // E8M0 as U8 [N, K/32] (tests/fixtures/autoround/mxint4). The layout is llm_compressor's.
      q.family = INCQ_FAMILY_MX_INT;
      if (f.bits != 4 && f.bits != 8) fail_key(at, "bits", bits_problem(f, "4 or 8"));
      if (!is_gptq_or_awq(ctx.packing)) fail_packing(at, f, ctx.packing);
      q.packing = INCQ_PACKING_LLM_COMPRESSOR;
      if (f.bits == 4) q.weight_dtype = INCQ_DTYPE_U8;  // AutoRound exports no 8-bit MXINT to learn from
      break;
    case DataKind::Fp8: {
      q.family = INCQ_FAMILY_FP8;
      if (f.bits != 8) fail_key(at, "bits", bits_problem(f, "8"));
      // FP8 tensors (weight + weight_scale) are written under the FP8 format names, the generic
      // "auto_round", or llm_compressor; a GPTQ/AWQ name would describe tensors FP8 never has.
      const std::string& p = ctx.packing.name;
      const bool fp8_ok = ctx.packing.defaulted || p == "auto_round" || p == "auto_round:fp8" ||
                          p == "auto_round:fp8_static" || p == "auto_round:llm_compressor";
      if (!fp8_ok) fail_packing(at, f, ctx.packing);
      q.sym = 1;
      q.weight_dtype = f.data_type == "fp8_e5m2" ? INCQ_DTYPE_F8_E5M2 : INCQ_DTYPE_F8_E4M3;
      const auto block = ctx.weight_block_size ? ctx.weight_block_size : f.group_block;
      if (block) {
        q.packing = INCQ_PACKING_FP8_BLOCK;
        q.block_n = (*block)[0];
        q.block_k = (*block)[1];
        q.group_size = q.block_k;
      } else {
        q.packing = INCQ_PACKING_FP8;
      }
      if (ctx.packing.defaulted) s.packing_format = "auto_round:fp8";
      break;
    }
    case DataKind::MxFp:
    case DataKind::NvFp:
      q.family = kind == DataKind::MxFp ? INCQ_FAMILY_MX_FP : INCQ_FAMILY_NV_FP;
      if (kind == DataKind::MxFp && f.bits != 4 && f.bits != 8)
        fail_key(at, "bits", bits_problem(f, "4 or 8"));
      if (kind == DataKind::NvFp && f.bits != 4) fail_key(at, "bits", bits_problem(f, "4"));
      // AutoRound's MX/NV backends read only the llm_compressor layout.
      if (ctx.packing.packing != INCQ_PACKING_LLM_COMPRESSOR) fail_packing(at, f, ctx.packing);
      if (f.group_size <= 0)
        fail_key(at, "group_size", fmt::format("data_type '{}' needs a positive group size, got {}",
                                               f.data_type, f.group_size));
      q.sym = 1;
      // 4-bit E2M1 codes come packed two per byte; 8-bit MX elements are E4M3.
      q.weight_dtype = f.bits == 4 ? INCQ_DTYPE_U8 : INCQ_DTYPE_F8_E4M3;
      break;
    case DataKind::Dense:
      break;  // handled above
  }

  if (f.act_bits >= 16) {
    q.act_bits = 16;
    q.act_dynamic = 0;
    q.act_family = INCQ_FAMILY_DENSE;
    q.act_group_size = 0;
    q.act_sym = 1;
  } else {
    q.act_bits = f.act_bits;
    // AutoRound's schemes quantize activations dynamically unless told otherwise.
    q.act_dynamic = f.act_dynamic.value_or(true) ? 1 : 0;
    switch (*data_kind(f.act_data_type.value_or(f.data_type))) {
      case DataKind::Int: q.act_family = INCQ_FAMILY_INT; break;
      case DataKind::MxInt: q.act_family = INCQ_FAMILY_MX_INT; break;
      case DataKind::Fp8: q.act_family = INCQ_FAMILY_FP8; break;
      case DataKind::MxFp: q.act_family = INCQ_FAMILY_MX_FP; break;
      case DataKind::NvFp: q.act_family = INCQ_FAMILY_NV_FP; break;
      case DataKind::Dense:
        fail_key(at, "act_data_type", fmt::format("act_bits {} asks for quantized activations but act_data_type "
                                                  "'{}' is unquantized", f.act_bits, *f.act_data_type));
    }
    const bool block_scaled = q.act_family == INCQ_FAMILY_MX_FP || q.act_family == INCQ_FAMILY_MX_INT ||
                              q.act_family == INCQ_FAMILY_NV_FP;
    q.act_group_size = f.act_group_size.value_or(block_scaled ? q.group_size : -1);
    q.act_sym = f.act_sym.value_or(true) ? 1 : 0;
  }
  return s;
}

}  // namespace incq::host
