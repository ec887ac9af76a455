#include "synth_layer.hpp"

#include <fmt/format.h>

#include "common/error.hpp"
#include "quant/fp8_weights.hpp"
#include "quant/mx_weights.hpp"
#include "quant/nv_weights.hpp"
#include "quant/pack.hpp"
#include "quant/rtn.hpp"

namespace incq::bench {

namespace {

// splitmix64: fast, seeded, good enough for weights whose values only need realistic ranges.
struct Rng {
  uint64_t s;
  uint64_t next() {
    uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  float uniform() { return static_cast<float>(next() >> 40) * 0x1p-24f * 2.0f - 1.0f; }  // [-1, 1)
};

// Weights varying in scale per output channel (as trained weights do), so scales differ per column.
std::vector<float> random_weights(int64_t rows, int64_t cols, bool scale_per_row, Rng& rng) {
  std::vector<float> w(static_cast<size_t>(rows * cols));
  std::vector<float> channel(static_cast<size_t>(scale_per_row ? rows : cols));
  for (auto& c : channel) c = 0.005f + 0.045f * (rng.uniform() * 0.5f + 0.5f);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      w[static_cast<size_t>(r * cols + c)] = rng.uniform() * channel[static_cast<size_t>(scale_per_row ? r : c)];
  return w;
}

// One projection's tensors: K = in, N = out.
std::vector<host::quant::PackedTensor> quantize_projection(const BenchScheme& s, int64_t K, int64_t N, Rng& rng) {
  const incq_scheme& sc = s.layer.scheme;
  switch (sc.family) {
    case INCQ_FAMILY_INT: {
      const std::vector<float> w_kn = random_weights(K, N, false, rng);
      const auto q = host::quant::quantize_rtn(w_kn.data(), K, N, sc.bits, sc.group_size, sc.sym != 0);
      return host::quant::pack_int(q, static_cast<incq_packing>(sc.packing), false);
    }
    case INCQ_FAMILY_FP8: {
      const std::vector<float> w_nk = random_weights(N, K, true, rng);
      return host::quant::quantize_fp8(w_nk.data(), N, K, sc);
    }
    case INCQ_FAMILY_MX_FP:
    case INCQ_FAMILY_MX_INT: {
      const std::vector<float> w_nk = random_weights(N, K, true, rng);
      return host::quant::quantize_mx(w_nk.data(), N, K, sc);
    }
    case INCQ_FAMILY_NV_FP: {
      const std::vector<float> w_nk = random_weights(N, K, true, rng);
      // Activations in the bench are uniform in [-1, 1]: AutoRound's calibration gives 2688 / max|x|.
      return host::quant::quantize_nvfp4(w_nk.data(), N, K, sc, 2688.0f);
    }
    default:
      throw host::Error(fmt::format("no synthesizer for {}", s.layer.describe()));
  }
}

uint64_t bytes_of(const std::vector<host::quant::PackedTensor>& ts) {
  uint64_t b = 0;
  for (const auto& t : ts) b += t.bytes.size();
  return b;
}

}  // namespace

std::unique_ptr<SynthLayer> synthesize_layer(const Problem& p, int32_t act_dtype, uint64_t seed, bool with_weights) {
  auto L = std::make_unique<SynthLayer>();
  L->problem = p;
  L->scheme = resolve_scheme(p.scheme);
  const incq_scheme& sc = L->scheme.layer.scheme;
  L->packing = sc.packing;
  Rng rng{seed};
  incq_layer_desc& d = L->desc;
  d.struct_size = sizeof d;
  d.scheme = sc;
  d.scheme.struct_size = sizeof d.scheme;
  d.scheme.has_g_idx = 0;
  d.act_dtype = act_dtype;
  d.has_bias = 0;
  const std::string where = fmt::format("{} ({} {})", p.source, p.shape(), p.scheme);
  try {
    if (!p.is_moe()) {
      L->name = "bench.linear";
      d.module_kind = INCQ_MODULE_LINEAR;
      d.in_features = p.K;
      d.out_features = p.N;
      if (!with_weights) {
        d.name = L->name.c_str();
        return L;
      }
      L->storage.push_back(quantize_projection(L->scheme, p.K, p.N, rng));
      for (const auto& t : L->storage.back()) L->bundle.push_back({t.name, host::quant::tensor_view(t)});
      L->bytes_per_copy = bytes_of(L->storage.back());
    } else {
      L->name = "bench.mlp.experts";
      d.module_kind = INCQ_MODULE_MOE;
      d.num_experts = p.experts;
      d.hidden_size = p.hidden;
      d.intermediate_size = p.intermediate;
      d.top_k = static_cast<int32_t>(p.top_k);
      d.in_features = d.out_features = p.hidden;
      if (!with_weights) {
        d.name = L->name.c_str();
        return L;
      }
      const int64_t distinct = std::min<int64_t>(p.experts, 4);
      struct Proj {
        const char* name;
        int64_t K, N;
      };
      const Proj projs[] = {{"gate_proj", p.hidden, p.intermediate},
                            {"up_proj", p.hidden, p.intermediate},
                            {"down_proj", p.intermediate, p.hidden}};
      std::vector<std::vector<const std::vector<host::quant::PackedTensor>*>> sets(static_cast<size_t>(distinct));
      for (int64_t e = 0; e < distinct; ++e)
        for (const auto& pr : projs) {
          L->storage.push_back(quantize_projection(L->scheme, pr.K, pr.N, rng));
          sets[static_cast<size_t>(e)].push_back(&L->storage.back());
        }
      for (const auto* s : sets[0]) L->bytes_per_expert += bytes_of(*s);
      for (int64_t e = 0; e < p.experts; ++e)
        for (size_t j = 0; j < 3; ++j)
          for (const auto& t : *sets[static_cast<size_t>(e % distinct)][j])
            L->bundle.push_back({fmt::format("{}.{}.{}", e, projs[j].name, t.name), host::quant::tensor_view(t)});
      L->bytes_per_copy = L->bytes_per_expert * static_cast<uint64_t>(p.experts);
    }
  } catch (const host::Error& e) {
    throw host::Error(fmt::format("{}: {}", where, e.what()));
  }
  d.name = L->name.c_str();
  return L;
}

}  // namespace incq::bench
