// Random integer weight-only matrices in every checkpoint packing, built straight into the
// reference's IntWoMatrix (tests of src/int_fast). The packers follow DESIGN §4 independently of
// the plugin's readers, so a layout mistake on either side shows up as a mismatch.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include "incq/plugin_api.h"
#include "incq/plugin_helpers.hpp"
#include "int_wo_matrix.hpp"

namespace int_fast_test {

struct MatrixCase {
  int bits = 4;
  int packing = INCQ_PACKING_GPTQ_V2;
  int group_size = 32;  // -1: one group
  bool sym = true;
  bool act_order = false;  // shuffled g_idx
  int64_t K = 64, N = 48;
  bool bias = false;
};

// Every packing x sym x grouping (g32, one group, act order) at one shape per bit width, plus AWQ
// (4-bit only: K not a multiple of 8, the last group padded; and act order). N is not a multiple
// of 16 or 32 where the packing allows; K spans several groups. int3_K: the 3-bit case's K (the
// prefill tests want more than one 256-row segment there).
inline std::vector<MatrixCase> all_cases(int64_t int3_K = 160) {
  std::vector<MatrixCase> cases;
  struct Shape {
    int bits;
    int64_t K, N;
  };
  const Shape shapes[] = {{2, 160, 48}, {3, int3_K, 96}, {4, 576, 40}, {8, 164, 20}};
  for (const Shape& s : shapes) {
    for (int packing : {INCQ_PACKING_GPTQ_V1, INCQ_PACKING_GPTQ_V2}) {
      for (bool sym : {true, false}) {
        for (int grouping = 0; grouping < 3; ++grouping) {
          MatrixCase c;
          c.bits = s.bits;
          c.packing = packing;
          c.sym = sym;
          c.K = s.K;
          c.N = s.N;
          c.group_size = grouping == 1 ? -1 : 32;
          c.act_order = grouping == 2;
          c.bias = grouping != 1;
          cases.push_back(c);
        }
      }
    }
  }
  for (bool sym : {true, false}) {
    for (bool act : {false, true}) {
      MatrixCase c;
      c.bits = 4;
      c.packing = INCQ_PACKING_AWQ;
      c.sym = sym;
      c.K = 68;
      c.N = 24;
      c.group_size = 32;
      c.act_order = act;
      c.bias = true;
      cases.push_back(c);
    }
  }
  return cases;
}

// Codes q[k][n] and zeros z[g][n] as numbers, then packed. v1 stores z - 1 (so z in [1, 2^b]).
inline incq::inc_cpu::IntWoMatrix make_matrix(const MatrixCase& c, uint32_t seed) {
  using incq::inc_cpu::IntWoMatrix;
  std::mt19937 rng(seed);
  const int b = c.bits;
  const int64_t K = c.K, N = c.N, G = c.group_size == -1 ? K : c.group_size;
  const int64_t ng = (K + G - 1) / G;
  IntWoMatrix m;
  m.K = K;
  m.N = N;
  m.format = {b, c.packing, c.group_size, c.sym};
  m.group_size = G;
  m.num_groups = ng;
  std::uniform_int_distribution<uint32_t> code(0, (1u << b) - 1);
  std::vector<uint32_t> q(static_cast<size_t>(K * N)), z(static_cast<size_t>(ng * N));
  for (auto& v : q) v = code(rng);
  const bool v1 = c.packing == INCQ_PACKING_GPTQ_V1;
  std::uniform_int_distribution<uint32_t> zero(v1 ? 1 : 0, v1 ? (1u << b) : (1u << b) - 1);
  for (auto& v : z) v = c.sym ? (1u << (b - 1)) : zero(rng);
  // Scales: mixed signs and magnitudes, some exact zeros.
  std::uniform_real_distribution<float> mag(0.001f, 0.05f);
  m.scales.resize(static_cast<size_t>(ng * N));
  for (size_t i = 0; i < m.scales.size(); ++i) {
    float s = mag(rng) * ((rng() & 1) ? -1.0f : 1.0f);
    if (rng() % 29 == 0) s = 0.0f;
    m.scales[i] = incq::float_to_half(s);
  }
  if (c.act_order) {
    m.g_idx.resize(static_cast<size_t>(K));
    for (int64_t k = 0; k < K; ++k) m.g_idx[static_cast<size_t>(k)] = static_cast<int32_t>(k / G);
    std::shuffle(m.g_idx.begin(), m.g_idx.end(), rng);
  }
  auto put_bits = [](std::vector<int32_t>& words, int64_t word_stride, int64_t base, int bits, int64_t index,
                     uint32_t value) {  // GPTQ bit stream along one run of words
    for (int i = 0; i < bits; ++i) {
      const int64_t bit = index * bits + i;
      const int64_t word = bit / 32;
      if ((value >> i) & 1u) {
        auto& w = words[static_cast<size_t>(base + word * word_stride)];
        w = static_cast<int32_t>(static_cast<uint32_t>(w) | (1u << (bit % 32)));
      }
    }
  };
  if (c.packing == INCQ_PACKING_AWQ) {
    static const int kColumnOfSlot[8] = {0, 2, 4, 6, 1, 3, 5, 7};
    m.qweight.assign(static_cast<size_t>(K * N / 8), 0);
    m.qzeros.assign(static_cast<size_t>(ng * N / 8), 0);
    for (int64_t k = 0; k < K; ++k)
      for (int64_t j = 0; j < N / 8; ++j)
        for (int s = 0; s < 8; ++s) {
          const uint32_t v = q[static_cast<size_t>(k * N + 8 * j + kColumnOfSlot[s])];
          auto& w = m.qweight[static_cast<size_t>(k * (N / 8) + j)];
          w = static_cast<int32_t>(static_cast<uint32_t>(w) | (v << (4 * s)));
        }
    for (int64_t g = 0; g < ng; ++g)
      for (int64_t j = 0; j < N / 8; ++j)
        for (int s = 0; s < 8; ++s) {
          const uint32_t v = z[static_cast<size_t>(g * N + 8 * j + kColumnOfSlot[s])];
          auto& w = m.qzeros[static_cast<size_t>(g * (N / 8) + j)];
          w = static_cast<int32_t>(static_cast<uint32_t>(w) | (v << (4 * s)));
        }
  } else {
    m.qweight.assign(static_cast<size_t>(K * b / 32 * N), 0);
    m.qzeros.assign(static_cast<size_t>(ng * N * b / 32), 0);
    for (int64_t n = 0; n < N; ++n)
      for (int64_t k = 0; k < K; ++k) put_bits(m.qweight, N, n, b, k, q[static_cast<size_t>(k * N + n)]);
    for (int64_t g = 0; g < ng; ++g)
      for (int64_t n = 0; n < N; ++n) {
        const uint32_t stored = z[static_cast<size_t>(g * N + n)] - (v1 ? 1u : 0u);
        put_bits(m.qzeros, 1, g * (N * b / 32), b, n, stored & ((1u << b) - 1u));
      }
  }
  if (c.bias) {
    m.bias_dtype = INCQ_DTYPE_F32;
    m.bias.resize(static_cast<size_t>(N) * 4);
    for (int64_t n = 0; n < N; ++n) {
      const float v = mag(rng) * 10.0f * ((rng() & 1) ? -1.0f : 1.0f);
      std::memcpy(m.bias.data() + 4 * n, &v, 4);
    }
  }
  return m;
}

// x [M][K], with one all-zero row (if M > 1) and mixed magnitudes.
inline std::vector<float> make_x(int64_t M, int64_t K, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(M * K));
  for (auto& v : x) v = d(rng) * ((rng() % 7 == 0) ? 8.0f : 1.0f);
  if (M > 1)
    for (int64_t k = 0; k < K; ++k) x[static_cast<size_t>(1 * K + k)] = 0.0f;
  return x;
}

}  // namespace int_fast_test
