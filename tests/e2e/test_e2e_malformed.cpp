// Damaged checkpoints through the whole host: each must end in an incq::host::Error (or a failed
// module with an error text) that names what is wrong and where — file, layer, tensor — and
// never in a crash. Each test writes a good checkpoint, damages one thing, and runs verify.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "common/error.hpp"
#include "core/synth.hpp"
#include "core/verify.hpp"
#include "e2e_support.hpp"
#include "raw_safetensors.hpp"

namespace incq::e2e {
namespace {

using ojson = nlohmann::ordered_json;
using ::testing::HasSubstr;

const std::string kQ = "model.layers.0.self_attn.q_proj";
const std::string kK = "model.layers.0.self_attn.k_proj";
const std::string kV = "model.layers.0.self_attn.v_proj";
const std::string kO = "model.layers.0.self_attn.o_proj";
const std::string kExperts = "model.layers.0.mlp.experts";

// GPTQ v2, int4, group 32, symmetric: q/k/v/o 64 -> 64 (K = 64 gives 2 groups) and 3 experts.
ojson good_spec() {
  ojson layers = ojson::array();
  for (const auto& name : {kQ, kK, kV, kO}) layers.push_back({{"name", name}, {"in_features", 64}, {"out_features", 64}});
  layers.push_back({{"name", kExperts}, {"num_experts", 3}, {"hidden_size", 64}, {"intermediate_size", 32}});
  return {{"seed", 9u},
          {"num_experts_per_tok", 2},
          {"quantization_config",
           {{"quant_method", "auto-round"}, {"packing_format", "auto_round"}, {"bits", 4}, {"group_size", 32},
            {"sym", true}, {"data_type", "int"}}},
          {"layers", layers}};
}

class Malformed : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { host_ = make_build_tree_host().release(); }
  static void TearDownTestSuite() {
    delete host_;
    host_ = nullptr;
  }

  void SetUp() override {
    ckpt_ = dir_ / "ckpt";
    host::synthesize_checkpoint(good_spec(), ckpt_, "malformed-test spec");
    file_ = single_shard(ckpt_);
    config_ = ckpt_ + "/config.json";
  }

  // The error verify reports: the Error it throws, else the first failed module's error text.
  // Fails the test when everything passes or when anything but an incq::host::Error escapes.
  std::string verify_failure() {
    host::VerifyOptions o;
    o.tokens = {2};
    try {
      const host::ModelVerification r = host::verify_model(*host_, ckpt_, o);
      for (const auto& m : r.modules)
        if (!m.passed) return "module " + m.name + ": " + m.error;
      ADD_FAILURE() << "verify passed a damaged checkpoint";
    } catch (const host::Error& e) {
      return e.what();
    }
    return "";
  }

  void edit_config(const std::function<void(ojson& qc)>& change) {
    ojson cfg = read_json(config_);
    change(cfg["quantization_config"]);
    write_json(config_, cfg);
  }

  static host::Host* host_;
  TempDir dir_{"malformed"};
  std::string ckpt_, file_, config_;
};
host::Host* Malformed::host_ = nullptr;

TEST_F(Malformed, TheUndamagedCheckpointPasses) {
  host::VerifyOptions o;
  o.tokens = {2};
  const host::ModelVerification r = host::verify_model(*host_, ckpt_, o);
  EXPECT_TRUE(r.passed());
  EXPECT_EQ(r.modules.size(), 6u);  // five modules, and q/k/v once more as the fused qkv_proj
}

// ---- The safetensors container ----

TEST_F(Malformed, TruncatedFileNamesTheTensorCutShort) {
  // Two bytes off the end cut only the tensor that lies last in the data section.
  const RawSafetensors raw = RawSafetensors::read(file_);
  std::string last;
  uint64_t last_end = 0;
  for (const auto& [name, entry] : raw.header.items())
    if (name != "__metadata__" && entry["data_offsets"][1].get<uint64_t>() > last_end) {
      last = name;
      last_end = entry["data_offsets"][1].get<uint64_t>();
    }
  std::filesystem::resize_file(file_, std::filesystem::file_size(file_) - 2);
  const std::string msg = verify_failure();
  EXPECT_THAT(msg, HasSubstr(file_));
  EXPECT_THAT(msg, HasSubstr("tensor '" + last + "'"));
  EXPECT_THAT(msg, HasSubstr("reach past the data section"));
}

TEST_F(Malformed, FileCutInsideTheHeader) {
  std::filesystem::resize_file(file_, 100);
  const std::string msg = verify_failure();
  EXPECT_THAT(msg, HasSubstr(file_));
  EXPECT_THAT(msg, HasSubstr("runs past the end of the file (100 bytes)"));
}

TEST_F(Malformed, HeaderLengthBeyondTheFile) {
  std::string bytes = read_text(file_);
  const uint64_t claimed = bytes.size();  // 8 more than the header could possibly hold
  for (int i = 0; i < 8; ++i) bytes[static_cast<size_t>(i)] = static_cast<char>((claimed >> (8 * i)) & 0xFF);
  write_text(file_, bytes);
  const std::string msg = verify_failure();
  EXPECT_THAT(msg, HasSubstr(file_));
  EXPECT_THAT(msg, HasSubstr("header length " + std::to_string(claimed) + " runs past the end of the file"));
}

TEST_F(Malformed, OffsetsOutOfRange) {
  RawSafetensors raw = RawSafetensors::read(file_);
  const std::string t = kK + ".scales";
  const uint64_t size = raw.data.size();
  raw.header[t]["data_offsets"] = {size - 8, size + 120};
  raw.write(file_);
  const std::string msg = verify_failure();
  EXPECT_THAT(msg, HasSubstr(file_));
  EXPECT_THAT(msg, HasSubstr("tensor '" + t + "'"));
  EXPECT_THAT(msg, HasSubstr("reach past the data section (" + std::to_string(size) + " bytes)"));
}

TEST_F(Malformed, OverlappingOffsets) {
  // q_proj.scales and k_proj.scales have the same shape: point one at the other's bytes.
  RawSafetensors raw = RawSafetensors::read(file_);
  raw.header[kK + ".scales"]["data_offsets"] = raw.header[kQ + ".scales"]["data_offsets"];
  raw.write(file_);
  const std::string msg = verify_failure();
  EXPECT_THAT(msg, HasSubstr(file_));
  EXPECT_THAT(msg, HasSubstr("'" + kQ + ".scales'"));
  EXPECT_THAT(msg, HasSubstr("'" + kK + ".scales'"));
  EXPECT_THAT(msg, HasSubstr("overlap"));
}

// ---- Tensors that disagree with the format or the config ----

TEST_F(Malformed, QweightStoredAsF32) {
  // Same byte count as I32, so only the dtype is wrong.
  RawSafetensors raw = RawSafetensors::read(file_);
  raw.header[kV + ".qweight"]["dtype"] = "F32";
  raw.write(file_);
  const std::string msg = verify_failure();
  EXPECT_THAT(msg, HasSubstr(kV));
  EXPECT_THAT(msg, HasSubstr("qweight"));
  EXPECT_THAT(msg, HasSubstr("dtype F32, expected I32"));
  EXPECT_THAT(msg, HasSubstr(file_));
}

TEST_F(Malformed, ConfigSaysEightBitsForAFourBitLayer) {
  edit_config([](ojson& qc) { qc["extra_config"] = {{kO, {{"bits", 8}}}}; });
  // Read as 8 bits, o_proj's qweight [8, 64] means K = 32, so its qzeros [2, 8] should be [1, 16].
  const std::string msg = verify_failure();
  EXPECT_THAT(msg, HasSubstr(kO));
  EXPECT_THAT(msg, HasSubstr("qzeros"));
  EXPECT_THAT(msg, HasSubstr("shape [2, 8], expected [1, 16]"));
  EXPECT_THAT(msg, HasSubstr(file_));
}

TEST_F(Malformed, ConfigSaysEightBitsForAFourBitMoe) {
  // Read as 8 bits, every expert's down_proj [4, 64] is 16 -> 64 while gate_proj [8, 32] makes H = 32, I = 32.
  edit_config([](ojson& qc) { qc["bits"] = 8; });
  const std::string msg = verify_failure();
  EXPECT_THAT(msg, HasSubstr(ckpt_));
  EXPECT_THAT(msg, HasSubstr("MoE '" + kExperts + "'"));
  EXPECT_THAT(msg, HasSubstr("'" + kExperts + ".0.down_proj' is 16 -> 64 but expert 0 gate_proj makes it 32 -> 32"));
}

TEST_F(Malformed, ScalesWithTheWrongNumberOfGroups) {
  // K = 64 at group 32 needs 2 groups of scales; give o_proj one.
  RawSafetensors raw = RawSafetensors::read(file_);
  const std::string t = kO + ".scales";
  const std::vector<uint8_t> one_group(raw.bytes_of(t), raw.bytes_of(t) + 64 * 2);
  raw.replace(t, "F16", {1, 64}, one_group);
  raw.write(file_);
  const std::string msg = verify_failure();
  EXPECT_THAT(msg, HasSubstr(kO));
  EXPECT_THAT(msg, HasSubstr("scales: shape [1, 64], expected [2, 64]"));
  EXPECT_THAT(msg, HasSubstr(file_));
}

TEST_F(Malformed, NaNScale) {
  RawSafetensors raw = RawSafetensors::read(file_);
  write_u16(raw.bytes_of(kQ + ".scales") + 2 * (64 + 3), 0x7E00);  // scales[1, 3]
  raw.write(file_);
  const std::string msg = verify_failure();
  EXPECT_THAT(msg, HasSubstr(kQ));
  EXPECT_THAT(msg, HasSubstr("scales[1, 3] is NaN"));
  EXPECT_THAT(msg, HasSubstr(file_));
}

TEST_F(Malformed, InfScaleInAnExpert) {
  RawSafetensors raw = RawSafetensors::read(file_);
  const std::string proj = kExperts + ".1.down_proj";
  write_u16(raw.bytes_of(proj + ".scales") + 2 * 5, 0xFC00);  // scales[0, 5] = -Inf
  raw.write(file_);
  const std::string msg = verify_failure();
  EXPECT_THAT(msg, HasSubstr(proj));
  EXPECT_THAT(msg, HasSubstr("scales[0, 5] is -Inf"));
  EXPECT_THAT(msg, HasSubstr(file_));
}

TEST_F(Malformed, MissingQzeros) {
  RawSafetensors raw = RawSafetensors::read(file_);
  raw.remove(kV + ".qzeros");
  raw.write(file_);
  const std::string msg = verify_failure();
  EXPECT_THAT(msg, HasSubstr(ckpt_));
  EXPECT_THAT(msg, HasSubstr("layer '" + kV + "'"));
  EXPECT_THAT(msg, HasSubstr("missing tensor '" + kV + ".qzeros'"));
}

TEST_F(Malformed, MissingExpertProjection) {
  RawSafetensors raw = RawSafetensors::read(file_);
  for (const char* role : {"qweight", "qzeros", "scales"}) raw.remove(kExperts + ".1.up_proj." + role);
  raw.write(file_);
  const std::string msg = verify_failure();
  EXPECT_THAT(msg, HasSubstr(ckpt_));
  EXPECT_THAT(msg, HasSubstr("MoE '" + kExperts + "'"));
  EXPECT_THAT(msg, HasSubstr("expert 1 has no quantized up_proj"));
  EXPECT_THAT(msg, HasSubstr(kExperts + ".1.up_proj.qweight"));
}

TEST_F(Malformed, QuantizedTensorInALayerTheConfigKeepsDense) {
  edit_config([](ojson& qc) { qc["modules_to_not_convert"] = {kO}; });
  const std::string msg = verify_failure();
  EXPECT_THAT(msg, HasSubstr(ckpt_));
  EXPECT_THAT(msg, HasSubstr("layer '" + kO + "' has a tensor '" + kO + ".qweight'"));
  EXPECT_THAT(msg, HasSubstr("keeps it dense"));
  EXPECT_THAT(msg, HasSubstr("modules_to_not_convert"));
}

// ---- config.json ----

TEST_F(Malformed, UnknownPackingFormat) {
  edit_config([](ojson& qc) { qc["packing_format"] = "auto_round:mystery"; });
  const std::string msg = verify_failure();
  EXPECT_THAT(msg, HasSubstr(config_));
  EXPECT_THAT(msg, HasSubstr("quantization_config.packing_format"));
  EXPECT_THAT(msg, HasSubstr("unknown packing_format 'auto_round:mystery'"));
}

TEST_F(Malformed, InvalidBits) {
  edit_config([](ojson& qc) { qc["bits"] = 5; });
  const std::string msg = verify_failure();
  EXPECT_THAT(msg, HasSubstr(config_));
  EXPECT_THAT(msg, HasSubstr("quantization_config.bits"));
  EXPECT_THAT(msg, HasSubstr("2, 3, 4 or 8"));
}

TEST_F(Malformed, InvalidRegexKeyInExtraConfig) {
  edit_config([](ojson& qc) { qc["extra_config"] = {{"mlp\\.experts\\.(", {{"bits", 8}}}}; });
  const std::string msg = verify_failure();
  EXPECT_THAT(msg, HasSubstr(config_));
  EXPECT_THAT(msg, HasSubstr("extra_config['mlp\\.experts\\.(']"));
  EXPECT_THAT(msg, HasSubstr("is not a valid regex"));
}

// Mixed schemes inside a fused q/k/v are allowed (the host runs such a module as parts), but a
// config that gives k_proj 8 bits while its tensors hold 4 is a malformed checkpoint: the error
// names the layer, the tensor and the shape the config implies.
TEST_F(Malformed, FusedQkvPartWhoseConfigDisagreesWithItsTensors) {
  edit_config([](ojson& qc) { qc["extra_config"] = {{kK, {{"bits", 8}}}}; });
  const std::string msg = verify_failure();
  EXPECT_THAT(msg, HasSubstr("model.layers.0.self_attn.k_proj"));
  EXPECT_THAT(msg, HasSubstr("qzeros: shape"));
  EXPECT_THAT(msg, HasSubstr("model.safetensors"));
}

}  // namespace
}  // namespace incq::e2e
