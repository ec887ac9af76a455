// Baseline: oneDNN dense matmul y[M,N] = x[M,K] · W[K,N] in bf16 or f32 — what a deployment would
// run for the unquantized layer. Weights are laid out once per primitive in the format oneDNN asks
// for (format_tag::any: its best case), in several copies rotated through for cold caches.
#pragma once

#include <cstdint>
#include <memory>
#include <oneapi/dnnl/dnnl.hpp>
#include <string>
#include <vector>

namespace incq::bench {

class OnednnDense {
 public:
  // bf16 = true: bf16 x, W, y (f32 accumulation inside oneDNN); else all f32.
  OnednnDense(bool bf16, int64_t K, int64_t N, int copies, uint64_t seed);
  // Builds the primitive for M at the current OpenMP thread count (oneDNN partitions work when the
  // primitive is created) and re-lays the weight copies out if the wanted format changed.
  void prepare(int64_t M);
  // One matmul on the next weight copy; waits for completion.
  void run_next();
  uint64_t weight_bytes() const { return static_cast<uint64_t>(K_ * N_) * (bf16_ ? 2 : 4); }
  int copies() const { return static_cast<int>(copies_.size()); }
  std::string impl() const { return impl_; }
  const char* name() const { return bf16_ ? "onednn.bf16" : "onednn.f32"; }

 private:
  bool bf16_;
  int64_t K_, N_, M_ = 0;
  dnnl::engine eng_;
  dnnl::stream strm_;
  dnnl::memory plain_w_;
  std::vector<dnnl::memory> copies_;
  dnnl::memory::desc copies_md_;
  dnnl::matmul prim_;
  dnnl::memory src_, dst_;
  size_t next_ = 0;
  std::string impl_;
};

}  // namespace incq::bench
