#include "onednn_dense.hpp"

#include <cstring>

#include "incq/plugin_helpers.hpp"

namespace incq::bench {

using dt = dnnl::memory::data_type;
using tag = dnnl::memory::format_tag;

namespace {

void fill(dnnl::memory& m, bool bf16, int64_t count, uint64_t seed) {
  uint64_t s = seed | 1;
  auto next = [&] {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return static_cast<float>(s >> 40) * 0x1p-24f * 0.1f - 0.05f;
  };
  if (bf16) {
    auto* p = static_cast<uint16_t*>(m.get_data_handle());
    for (int64_t i = 0; i < count; ++i) p[i] = incq::float_to_bf16(next());
  } else {
    auto* p = static_cast<float*>(m.get_data_handle());
    for (int64_t i = 0; i < count; ++i) p[i] = next();
  }
}

}  // namespace

OnednnDense::OnednnDense(bool bf16, int64_t K, int64_t N, int copies, uint64_t seed)
    : bf16_(bf16), K_(K), N_(N), eng_(dnnl::engine::kind::cpu, 0), strm_(eng_) {
  const dt d = bf16 ? dt::bf16 : dt::f32;
  plain_w_ = dnnl::memory({{K, N}, d, tag::ab}, eng_);
  fill(plain_w_, bf16, K * N, seed);
  copies_.resize(static_cast<size_t>(std::max(copies, 1)));
}

void OnednnDense::prepare(int64_t M) {
  const dt d = bf16_ ? dt::bf16 : dt::f32;
  const dnnl::memory::desc src_md({M, K_}, d, tag::ab), w_md({K_, N_}, d, tag::any), dst_md({M, N_}, d, tag::ab);
  const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(src_md, w_md, dst_md), eng_);
  prim_ = dnnl::matmul(pd);
  impl_ = pd.impl_info_str();
  if (M != M_) {
    src_ = dnnl::memory(src_md, eng_);
    fill(src_, bf16_, M * K_, 0x5eed + static_cast<uint64_t>(M));
    dst_ = dnnl::memory(dst_md, eng_);
    M_ = M;
  }
  const dnnl::memory::desc want = pd.weights_desc();
  if (!copies_.front() || !(copies_md_ == want)) {
    for (auto& c : copies_) {
      c = dnnl::memory(want, eng_);
      dnnl::reorder(plain_w_, c).execute(strm_, plain_w_, c);
    }
    strm_.wait();
    copies_md_ = want;
  }
}

void OnednnDense::run_next() {
  dnnl::memory& w = copies_[next_];
  next_ = (next_ + 1) % copies_.size();
  prim_.execute(strm_, {{DNNL_ARG_SRC, src_}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DST, dst_}});
  strm_.wait();
}

}  // namespace incq::bench
