// Tests of the safetensors reader and writer. Malformed files are built byte by byte here, from the
// format as its README states it, so the reader is never checked against its own writer alone.
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/error.hpp"
#include "incq/plugin_helpers.hpp"
#include "safetensors/safetensors.hpp"

namespace {

namespace fs = std::filesystem;
namespace st = incq::host::st;
using incq::host::Error;
using ::testing::HasSubstr;

// ---------------------------------------------------------------------------------------- helpers

// The 8-byte little-endian length that starts every file.
std::string le64(uint64_t n) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[i] = static_cast<char>((n >> (8 * i)) & 0xFF);
  return s;
}

std::string framed(const std::string& header, const std::string& data = "") {
  return le64(header.size()) + header + data;
}

// Deterministic, position-dependent bytes, different per seed.
std::vector<uint8_t> pattern(size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(seed + 131 * i + (i >> 8));
  return v;
}

std::vector<uint8_t> bytes_of(const st::TensorView& t) {
  return std::vector<uint8_t>(t.data, t.data + t.nbytes);
}

// Looks a tensor up, throwing instead of handing back nullptr: gtest reports the exception as a
// failure of the test rather than the whole binary crashing on a null dereference.
template <typename Owner>
const st::TensorView& tensor(const Owner& owner, const std::string& name) {
  const st::TensorView* t = owner.find(name);
  if (t == nullptr) throw std::runtime_error("no tensor '" + name + "'");
  return *t;
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// True for the first line of a mapping in /proc/<pid>/smaps: "start-end perms offset dev inode
// path". Its field lines ("Rss:   12 kB") start with a name instead of a hex address range.
bool is_smaps_mapping_line(const std::string& line) {
  const std::string first = line.substr(0, line.find(' '));
  return first.find('-') != std::string::npos &&
         first.find_first_not_of("0123456789abcdef-") == std::string::npos;
}

// Resident kB of this process's mappings of `file`, from /proc/self/smaps.
long resident_kb_of_mapping(const fs::path& file) {
  const std::string target = " " + fs::canonical(file).string();
  std::ifstream smaps("/proc/self/smaps");
  std::string line;
  bool in_target = false;
  long kb = 0;
  while (std::getline(smaps, line)) {
    if (is_smaps_mapping_line(line)) {
      in_target = line.size() >= target.size() &&
                  line.compare(line.size() - target.size(), target.size(), target) == 0;
    } else if (in_target && line.rfind("Rss:", 0) == 0) {
      kb += std::stol(line.substr(4));
    }
  }
  return kb;
}

class SafetensorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("incq_test_safetensors_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  // Removes the old file first: truncating and rewriting one makes ext4 flush it to disk on close
  // (auto_da_alloc), which would slow the fuzz loop below to a crawl on a busy disk.
  std::string write_raw(const std::string& name, const std::string& bytes) const {
    fs::remove(path(name));
    std::ofstream(path(name), std::ios::binary) << bytes;
    return path(name);
  }

  // The message of the incq::host::Error that `open` throws; fails the test when nothing is thrown.
  template <typename Open>
  static std::string error_of(Open open) {
    try {
      open();
    } catch (const Error& e) {
      return e.what();
    }
    ADD_FAILURE() << "expected incq::host::Error";
    return "";
  }

  static std::string open_error(const std::string& file) {
    return error_of([&] { st::SafetensorsFile::open(file); });
  }
  static std::string checkpoint_error(const std::string& dir) {
    return error_of([&] { st::Checkpoint::open(dir); });
  }

  fs::path dir_;
};

// ---------------------------------------------------------------------------------------- reading

TEST_F(SafetensorsTest, HandBuiltFileIsReadAsTheFormatSays) {
  // "a" is a 0-d U8 at byte 0; bytes 1..3 are a gap; "b" is BF16 [2] at bytes 4..8. Padded header.
  const std::string header = R"({"b":{"dtype":"BF16","shape":[2],"data_offsets":[4,8]},)"
                             R"("a":{"dtype":"U8","shape":[],"data_offsets":[0,1]},)"
                             R"("__metadata__":{"format":"pt"}}   )";
  const std::string file = write_raw(
      "hand.safetensors", framed(header, std::string("\x07\xEE\xEE\xEE\x01\x02\x03\x04", 8)));

  const auto f = st::SafetensorsFile::open(file);
  ASSERT_EQ(f->tensors().size(), 2u);
  EXPECT_EQ(f->tensors()[0].name, "a");  // data-offset order, not header order
  EXPECT_EQ(f->tensors()[1].name, "b");

  const st::TensorView* a = f->find("a");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->dtype, INCQ_DTYPE_U8);
  EXPECT_TRUE(a->shape.empty());
  EXPECT_EQ(bytes_of(*a), std::vector<uint8_t>({0x07}));

  const st::TensorView* b = f->find("b");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->dtype, INCQ_DTYPE_BF16);
  EXPECT_EQ(b->shape, std::vector<int64_t>({2}));
  EXPECT_EQ(bytes_of(*b), std::vector<uint8_t>({1, 2, 3, 4}));
  EXPECT_EQ(b->file, file);

  EXPECT_EQ(f->find("c"), nullptr);
  EXPECT_EQ(f->metadata(), (std::map<std::string, std::string>{{"format", "pt"}}));
  EXPECT_EQ(f->path(), file);
}

TEST_F(SafetensorsTest, HeaderWithoutTensorsIsValid) {
  const auto f = st::SafetensorsFile::open(write_raw("empty.safetensors", framed("{}")));
  EXPECT_TRUE(f->tensors().empty());
  EXPECT_TRUE(f->metadata().empty());
}

TEST_F(SafetensorsTest, AsIncqTensorIsContiguousRowMajor) {
  const std::string header = R"({"w":{"dtype":"F32","shape":[2,3,4],"data_offsets":[0,96]},)"
                             R"("s":{"dtype":"I64","shape":[],"data_offsets":[96,104]}})";
  const auto f =
      st::SafetensorsFile::open(write_raw("v.safetensors", framed(header, std::string(104, '\0'))));

  const incq_tensor w = tensor(*f, "w").as_incq_tensor();
  EXPECT_EQ(w.struct_size, sizeof(incq_tensor));
  EXPECT_EQ(w.data, tensor(*f, "w").data);
  EXPECT_EQ(w.dtype, INCQ_DTYPE_F32);
  EXPECT_EQ(w.ndim, 3);
  EXPECT_EQ(std::vector<int64_t>(w.shape, w.shape + 3), std::vector<int64_t>({2, 3, 4}));
  EXPECT_EQ(std::vector<int64_t>(w.strides, w.strides + 3), std::vector<int64_t>({12, 4, 1}));
  EXPECT_EQ(w.byte_offset, 0u);
  EXPECT_EQ(w.device_type, INCQ_DEVICE_CPU);

  const incq_tensor s = tensor(*f, "s").as_incq_tensor();
  EXPECT_EQ(s.ndim, 0);
  EXPECT_EQ(s.dtype, INCQ_DTYPE_I64);
}

TEST_F(SafetensorsTest, AsIncqTensorRejectsMoreDimsThanTheAbiHolds) {
  const std::string header = R"({"w5":{"dtype":"U8","shape":[1,1,1,1,2],"data_offsets":[0,2]}})";
  const auto f = st::SafetensorsFile::open(write_raw("r5.safetensors", framed(header, "ab")));
  const std::string msg = error_of([&] { tensor(*f, "w5").as_incq_tensor(); });
  EXPECT_THAT(msg, HasSubstr("r5.safetensors"));
  EXPECT_THAT(msg, HasSubstr("tensor 'w5'"));
  EXPECT_THAT(msg, HasSubstr("5 dimensions"));
}

// ---------------------------------------------------------------------------------------- writing

TEST_F(SafetensorsTest, WriterLaysOutHeaderPaddingAndDataAsTheFormatSays) {
  const std::vector<uint8_t> a = {1, 2, 3};
  const std::vector<uint8_t> b = pattern(8, 9);
  st::write_safetensors(path("w.safetensors"),
                        {{"b", INCQ_DTYPE_I32, {2}, b}, {"a", INCQ_DTYPE_U8, {3}, a}});

  const std::string raw = read_file(path("w.safetensors"));
  ASSERT_GE(raw.size(), 8u);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<uint8_t>(raw[i]);
  ASSERT_EQ(raw.size(), 8 + n + a.size() + b.size());
  EXPECT_EQ((8 + n) % 8, 0u) << "data section must start 8-byte aligned";

  const std::string header = raw.substr(8, n);
  EXPECT_THAT(header, HasSubstr(R"("data_offsets":[0,3])"));  // name order: a first
  EXPECT_THAT(header, HasSubstr(R"("data_offsets":[3,11])"));
  EXPECT_THAT(header, HasSubstr(R"("dtype":"I32")"));
  const size_t close = header.rfind('}');
  EXPECT_EQ(header.find_first_not_of(' ', close + 1), std::string::npos) << "padding is spaces";

  std::vector<uint8_t> expected_data = a;
  expected_data.insert(expected_data.end(), b.begin(), b.end());
  EXPECT_EQ(raw.substr(8 + n), std::string(expected_data.begin(), expected_data.end()));
  EXPECT_FALSE(fs::exists(path("w.safetensors.tmp")));
}

TEST_F(SafetensorsTest, RoundTripEveryDtypeScalarsEmptiesAndMetadata) {
  const int32_t dtypes[] = {INCQ_DTYPE_F32, INCQ_DTYPE_F16,     INCQ_DTYPE_BF16,    INCQ_DTYPE_F64,
                            INCQ_DTYPE_I8,  INCQ_DTYPE_U8,      INCQ_DTYPE_I16,     INCQ_DTYPE_I32,
                            INCQ_DTYPE_I64, INCQ_DTYPE_F8_E4M3, INCQ_DTYPE_F8_E5M2, INCQ_DTYPE_BOOL,
                            INCQ_DTYPE_U16, INCQ_DTYPE_U32,     INCQ_DTYPE_U64};
  std::vector<st::TensorToWrite> tensors;
  uint8_t seed = 1;
  for (int32_t dt : dtypes) {
    const size_t n = 2 * 3 * incq::dtype_size(dt);
    tensors.push_back({std::string("t_") + incq::dtype_name(dt), dt, {2, 3}, pattern(n, seed++)});
  }
  tensors.push_back({"scalar", INCQ_DTYPE_F32, {}, pattern(4, 77)});
  tensors.push_back({"empty_2d", INCQ_DTYPE_F16, {0, 5}, {}});
  tensors.push_back({"empty_1d", INCQ_DTYPE_I8, {0}, {}});
  const std::map<std::string, std::string> metadata = {{"format", "pt"}, {"producer", "incq test"}};

  const std::string file = path("all.safetensors");
  st::write_safetensors(file, tensors, metadata);
  const auto f = st::SafetensorsFile::open(file);

  ASSERT_EQ(f->tensors().size(), tensors.size());
  for (const auto& want : tensors) {
    SCOPED_TRACE(want.name);
    const st::TensorView* got = f->find(want.name);
    ASSERT_NE(got, nullptr);
    EXPECT_EQ(got->dtype, want.dtype);
    EXPECT_EQ(got->shape, want.shape);
    EXPECT_EQ(got->nbytes, want.bytes.size());
    EXPECT_EQ(bytes_of(*got), want.bytes);
    EXPECT_EQ(got->file, file);
  }
  EXPECT_EQ(f->metadata(), metadata);
  for (size_t i = 1; i < f->tensors().size(); ++i)
    EXPECT_LE(f->tensors()[i - 1].data, f->tensors()[i].data) << "tensors() in data-offset order";
}

TEST_F(SafetensorsTest, WriterRejectsInconsistentTensorsAndWritesNothing) {
  const std::string file = path("bad.safetensors");
  struct Case {
    std::vector<st::TensorToWrite> tensors;
    std::vector<std::string> expected;
  };
  const Case cases[] = {
      {{{"w", INCQ_DTYPE_F32, {2, 3}, pattern(20, 0)}}, {"tensor 'w'", "20 bytes", "needs 24"}},
      {{{"w", INCQ_DTYPE_INVALID, {1}, pattern(1, 0)}}, {"tensor 'w'", "invalid dtype"}},
      {{{"w", INCQ_DTYPE_U8, {-1}, {}}}, {"tensor 'w'", "shape[0] is negative"}},
      {{{"w", INCQ_DTYPE_U8, {1}, {1}}, {"w", INCQ_DTYPE_U8, {1}, {2}}}, {"'w' given twice"}},
      {{{"__metadata__", INCQ_DTYPE_U8, {1}, {1}}}, {"'__metadata__' cannot be a tensor name"}},
      {{{"", INCQ_DTYPE_U8, {1}, {1}}}, {"'' cannot be a tensor name"}},
  };
  for (const auto& c : cases) {
    const std::string msg = error_of([&] { st::write_safetensors(file, c.tensors); });
    EXPECT_THAT(msg, HasSubstr("bad.safetensors"));
    for (const auto& s : c.expected) EXPECT_THAT(msg, HasSubstr(s));
    EXPECT_FALSE(fs::exists(file));
  }
}

// ------------------------------------------------------------------------------------ checkpoints

TEST_F(SafetensorsTest, ShardedCheckpointSplitsGreedilyAndFindsAcrossShards) {
  // Name order: big, w0..w4, 64 bytes each but big. With a 128-byte limit: [big] (alone, over the
  // limit), [w0 w1] (exactly at the limit), [w2 w3], [w4].
  std::vector<st::TensorToWrite> tensors = {{"big", INCQ_DTYPE_U8, {200}, pattern(200, 1)}};
  for (int i = 4; i >= 0; --i)
    tensors.push_back(
        {"w" + std::to_string(i), INCQ_DTYPE_I32, {4, 4}, pattern(64, static_cast<uint8_t>(i))});
  const std::string ckpt_dir = path("ckpt");
  st::write_checkpoint(ckpt_dir, tensors, 128);

  const std::map<std::string, std::string> shard_of = {
      {"big", "model-00001-of-00004.safetensors"}, {"w0", "model-00002-of-00004.safetensors"},
      {"w1", "model-00002-of-00004.safetensors"},  {"w2", "model-00003-of-00004.safetensors"},
      {"w3", "model-00003-of-00004.safetensors"},  {"w4", "model-00004-of-00004.safetensors"}};
  EXPECT_TRUE(fs::exists(fs::path(ckpt_dir) / "model.safetensors.index.json"));
  EXPECT_FALSE(fs::exists(fs::path(ckpt_dir) / "model.safetensors"));

  const auto ckpt = st::Checkpoint::open(ckpt_dir);
  EXPECT_EQ(ckpt->dir(), ckpt_dir);
  EXPECT_EQ(ckpt->tensor_names(), std::vector<std::string>({"big", "w0", "w1", "w2", "w3", "w4"}));
  for (const auto& want : tensors) {
    SCOPED_TRACE(want.name);
    const st::TensorView* got = ckpt->find(want.name);
    ASSERT_NE(got, nullptr);
    EXPECT_EQ(fs::path(got->file).filename(), shard_of.at(want.name));
    EXPECT_EQ(got->shape, want.shape);
    EXPECT_EQ(bytes_of(*got), want.bytes);
  }
  EXPECT_EQ(ckpt->find("w5"), nullptr);
}

TEST_F(SafetensorsTest, SingleShardCheckpointIsPlainModelFileAndReplacesStaleIndex) {
  const std::string ckpt_dir = path("ckpt");
  st::write_checkpoint(
      ckpt_dir,
      {{"a", INCQ_DTYPE_U8, {8}, pattern(8, 1)}, {"b", INCQ_DTYPE_U8, {8}, pattern(8, 2)}}, 8);
  ASSERT_TRUE(fs::exists(fs::path(ckpt_dir) / "model.safetensors.index.json"));

  // Rewritten as one file: the old index must not shadow it.
  const std::vector<uint8_t> fresh = pattern(8, 3);
  st::write_checkpoint(ckpt_dir, {{"c", INCQ_DTYPE_U8, {8}, fresh}}, 1 << 20);
  EXPECT_TRUE(fs::exists(fs::path(ckpt_dir) / "model.safetensors"));
  EXPECT_FALSE(fs::exists(fs::path(ckpt_dir) / "model.safetensors.index.json"));

  const auto ckpt = st::Checkpoint::open(ckpt_dir);
  EXPECT_EQ(ckpt->tensor_names(), std::vector<std::string>({"c"}));
  EXPECT_EQ(bytes_of(tensor(*ckpt, "c")), fresh);
}

TEST_F(SafetensorsTest, DirectoryOfLooseFilesOpensEveryOne) {
  st::write_safetensors(path("part_b.safetensors"), {{"y", INCQ_DTYPE_U8, {2}, {5, 6}}});
  st::write_safetensors(path("part_a.safetensors"), {{"x", INCQ_DTYPE_U8, {1}, {4}}});
  write_raw("notes.txt", "not a checkpoint");
  const auto ckpt = st::Checkpoint::open(dir_.string());
  EXPECT_EQ(ckpt->tensor_names(), std::vector<std::string>({"x", "y"}));
  EXPECT_EQ(bytes_of(tensor(*ckpt, "y")), std::vector<uint8_t>({5, 6}));
}

TEST_F(SafetensorsTest, DuplicateTensorAcrossFilesNamesBoth) {
  st::write_safetensors(path("one.safetensors"), {{"w", INCQ_DTYPE_U8, {1}, {1}}});
  st::write_safetensors(path("two.safetensors"), {{"w", INCQ_DTYPE_U8, {1}, {2}}});
  const std::string msg = checkpoint_error(dir_.string());
  EXPECT_THAT(msg, HasSubstr("tensor 'w'"));
  EXPECT_THAT(msg, HasSubstr("one.safetensors"));
  EXPECT_THAT(msg, HasSubstr("two.safetensors"));
}

TEST_F(SafetensorsTest, IndexProblemsNameTheIndexTensorAndShard) {
  st::write_safetensors(path("shard1.safetensors"), {{"w", INCQ_DTYPE_U8, {1}, {1}}});
  const std::string index = "model.safetensors.index.json";
  struct Case {
    std::string json;
    std::vector<std::string> expected;
  };
  const Case cases[] = {
      {R"({"weight_map": {"w": "shard1.safetensors", "v": "shard2.safetensors"}})",
       {"weight_map['v']", "shard2.safetensors", "does not exist"}},
      {R"({"weight_map": {"w": "shard1.safetensors", "ghost": "shard1.safetensors"}})",
       {"weight_map['ghost']", "shard1.safetensors", "no such tensor"}},
      {R"({"weight_map": {"w": "../shard1.safetensors"}})", {"weight_map['w']", "shard file name"}},
      {R"({"weight_map": {"w": 3}})", {"weight_map['w']", "shard file name"}},
      {R"({"weight_map": ["w"]})", {"weight_map is not an object"}},
      {R"({"metadata": {}})", {"missing field 'weight_map'"}},
      {R"({"weight_map": {"w": "shard1.safetensors", "w": "shard1.safetensors"}})",
       {"duplicate key 'w'"}},
      {R"({"weight_map": )", {"not valid JSON"}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.json);
    write_raw(index, c.json);
    const std::string msg = checkpoint_error(dir_.string());
    EXPECT_THAT(msg, HasSubstr(index));
    for (const auto& s : c.expected) EXPECT_THAT(msg, HasSubstr(s));
  }
}

TEST_F(SafetensorsTest, CorruptShardIsNamedInTheError) {
  write_raw("model.safetensors.index.json", R"({"weight_map": {"w": "s.safetensors"}})");
  write_raw("s.safetensors", framed(R"({"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}})"));
  const std::string msg = checkpoint_error(dir_.string());
  EXPECT_THAT(msg, HasSubstr("s.safetensors"));
  EXPECT_THAT(msg, HasSubstr("tensor 'w'"));
  EXPECT_THAT(msg, HasSubstr("reach past the data section (0 bytes)"));
}

TEST_F(SafetensorsTest, CheckpointNeedsADirectoryWithSafetensors) {
  EXPECT_THAT(checkpoint_error(dir_.string()), HasSubstr("no model.safetensors.index.json"));
  const std::string file = write_raw("f", "x");
  EXPECT_THAT(checkpoint_error(file), HasSubstr("not a directory"));
}

// ---------------------------------------------------------------------------------------- release

TEST_F(SafetensorsTest, ReleasedTensorsReadBackTheSameBytes) {
  // An odd-sized first tensor puts the big one at an unaligned address spanning several pages.
  const auto page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  const std::vector<uint8_t> big = pattern(3 * page + 100, 5);
  const std::vector<uint8_t> odd = pattern(13, 6);
  const std::string file = path("r.safetensors");
  st::write_safetensors(file, {{"a_odd", INCQ_DTYPE_U8, {13}, odd},
                               {"b_big", INCQ_DTYPE_U8, {static_cast<int64_t>(big.size())}, big},
                               {"c_empty", INCQ_DTYPE_U8, {0}, {}}});
  const auto f = st::SafetensorsFile::open(file);
  ASSERT_EQ(bytes_of(tensor(*f, "b_big")), big);

  for (const char* name : {"b_big", "a_odd", "c_empty", "b_big"}) f->release(name);
  EXPECT_EQ(bytes_of(tensor(*f, "b_big")), big);
  EXPECT_EQ(bytes_of(tensor(*f, "a_odd")), odd);

  const std::string msg = error_of([&] { f->release("missing"); });
  EXPECT_THAT(msg, HasSubstr("r.safetensors"));
  EXPECT_THAT(msg, HasSubstr("'missing'"));
}

TEST_F(SafetensorsTest, ReleaseDropsTheTensorsResidentPages) {
  const std::vector<uint8_t> big = pattern(1 << 20, 7);
  const std::string file = path("rss.safetensors");
  st::write_safetensors(file, {{"w", INCQ_DTYPE_U8, {1 << 20}, big}});
  const auto f = st::SafetensorsFile::open(file);

  ASSERT_EQ(bytes_of(tensor(*f, "w")), big);  // faults every page in
  const long before = resident_kb_of_mapping(file);
  EXPECT_GE(before, 1000) << "all 1 MiB of the tensor should be resident after reading it";

  f->release("w");
  const long after = resident_kb_of_mapping(file);
  EXPECT_LE(after, 16) << "only the pages shared with the header may stay";

  EXPECT_EQ(bytes_of(tensor(*f, "w")), big);
}

TEST_F(SafetensorsTest, CheckpointReleaseKeepsDataReadable) {
  const std::vector<uint8_t> w = pattern(20000, 8);
  const std::string ckpt_dir = path("ckpt");
  st::write_checkpoint(ckpt_dir, {{"w", INCQ_DTYPE_U8, {20000}, w}}, 1 << 20);
  const auto ckpt = st::Checkpoint::open(ckpt_dir);
  ckpt->release("w");
  EXPECT_EQ(bytes_of(tensor(*ckpt, "w")), w);
  EXPECT_THAT(error_of([&] { ckpt->release("v"); }), HasSubstr("'v'"));
}

// --------------------------------------------------------------------------------- bad framing

TEST_F(SafetensorsTest, FileTooSmallForTheLength) {
  const std::string msg = open_error(write_raw("tiny.safetensors", "12345"));
  EXPECT_THAT(msg, HasSubstr("tiny.safetensors"));
  EXPECT_THAT(msg, HasSubstr("file is 5 bytes"));
}

TEST_F(SafetensorsTest, HeaderLengthZero) {
  const std::string msg = open_error(write_raw("zero.safetensors", le64(0) + "{}"));
  EXPECT_THAT(msg, HasSubstr("zero.safetensors"));
  EXPECT_THAT(msg, HasSubstr("header length is 0"));
}

TEST_F(SafetensorsTest, HeaderLengthPastTheEndOfTheFile) {
  const std::string msg = open_error(write_raw("short.safetensors", le64(100) + "{}"));
  EXPECT_THAT(msg, HasSubstr("short.safetensors"));
  EXPECT_THAT(msg, HasSubstr("header length 100 runs past the end of the file (10 bytes)"));
}

TEST_F(SafetensorsTest, HeaderLengthAboveTheBound) {
  for (uint64_t n : {(100ull << 20) + 1, ~0ull}) {
    const std::string msg = open_error(write_raw("huge.safetensors", le64(n) + "{}"));
    EXPECT_THAT(msg, HasSubstr("huge.safetensors"));
    EXPECT_THAT(msg, HasSubstr("header length " + std::to_string(n) + " exceeds the bound"));
  }
}

TEST_F(SafetensorsTest, MissingFileAndDirectory) {
  EXPECT_THAT(open_error(path("absent.safetensors")), HasSubstr("absent.safetensors: cannot open"));
  fs::create_directories(path("d.safetensors"));
  EXPECT_THAT(open_error(path("d.safetensors")), HasSubstr("d.safetensors: not a regular file"));
}

// ----------------------------------------------------------------------------------- bad headers

struct BadHeader {
  const char* label;
  std::string header;
  size_t data_size;
  std::vector<std::string> expected;  // substrings of the message besides the file name
};

void PrintTo(const BadHeader& c, std::ostream* os) { *os << c.label; }

class BadHeaderTest : public SafetensorsTest, public ::testing::WithParamInterface<BadHeader> {};

TEST_P(BadHeaderTest, IsRejectedWithFileTensorAndField) {
  const BadHeader& c = GetParam();
  const std::string msg =
      open_error(write_raw("bad.safetensors", framed(c.header, std::string(c.data_size, '\0'))));
  EXPECT_THAT(msg, HasSubstr("bad.safetensors"));
  for (const auto& s : c.expected) EXPECT_THAT(msg, HasSubstr(s));
}

// `e(...)` builds one entry; the default is a valid 4-byte F32 scalar at [0, 4].
std::string e(const std::string& dtype = R"("F32")", const std::string& shape = "[]",
              const std::string& offsets = "[0,4]") {
  return R"({"dtype":)" + dtype + R"(,"shape":)" + shape + R"(,"data_offsets":)" + offsets + "}";
}

const BadHeader kBadHeaders[] = {
    {"NotJson", R"({"w": )", 4, {"header", "not valid JSON"}},
    {"InvalidUtf8", "{\"w\xff\": " + e() + "}", 4, {"not valid JSON"}},
    {"NotAnObject", "[1, 2]", 0, {"header is not a JSON object (found array)"}},
    {"EntryNotAnObject", R"({"w": 5})", 0, {"tensor 'w'", "entry is not an object (found number)"}},
    {"MissingDtype",
     R"({"w": {"shape":[],"data_offsets":[0,4]}})",
     4,
     {"tensor 'w'", "missing field 'dtype'"}},
    {"MissingShape",
     R"({"w": {"dtype":"F32","data_offsets":[0,4]}})",
     4,
     {"tensor 'w'", "missing field 'shape'"}},
    {"MissingDataOffsets",
     R"({"w": {"dtype":"F32","shape":[]}})",
     4,
     {"tensor 'w'", "missing field 'data_offsets'"}},
    {"ExtraField",
     R"({"w": {"dtype":"F32","shape":[],"data_offsets":[0,4],"scale":1}})",
     4,
     {"tensor 'w'", "unknown field 'scale'"}},
    {"DtypeNotString",
     R"({"w": )" + e("4") + "}",
     4,
     {"tensor 'w'", "dtype is not a string (found number)"}},
    {"UnknownDtype", R"({"w": )" + e(R"("F4")") + "}", 4, {"tensor 'w'", "unknown dtype 'F4'"}},
    {"ShapeNotArray",
     R"({"w": )" + e(R"("F32")", "4") + "}",
     4,
     {"tensor 'w'", "shape is not an array (found number)"}},
    {"NegativeDim",
     R"({"w": )" + e(R"("F32")", "[1,-1]") + "}",
     4,
     {"tensor 'w'", "shape[1] is negative (-1)"}},
    {"FractionalDim",
     R"({"w": )" + e(R"("F32")", "[2.5]") + "}",
     4,
     {"tensor 'w'", "shape[0] is not an integer (2.5)"}},
    {"DimAsString",
     R"({"w": )" + e(R"("F32")", R"(["1"])") + "}",
     4,
     {"tensor 'w'", "shape[0] is not an integer"}},
    {"DimAboveInt64",
     R"({"w": )" + e(R"("U8")", "[9223372036854775808]") + "}",
     4,
     {"tensor 'w'", "shape[0] = 9223372036854775808 is too large"}},
    {"ByteCountOverflow",
     R"({"w": )" + e(R"("F32")", "[4294967296,4294967296]") + "}",
     4,
     {"tensor 'w'", "shape [4294967296, 4294967296] x F32 overflows"}},
    {"OffsetsOneNumber",
     R"({"w": )" + e(R"("F32")", "[]", "[4]") + "}",
     4,
     {"tensor 'w'", "data_offsets must be two non-negative integers"}},
    {"OffsetsThreeNumbers",
     R"({"w": )" + e(R"("F32")", "[]", "[0,4,8]") + "}",
     8,
     {"tensor 'w'", "data_offsets must be two"}},
    {"OffsetsNegative",
     R"({"w": )" + e(R"("F32")", "[]", "[-4,0]") + "}",
     4,
     {"tensor 'w'", "data_offsets must be two non-negative integers"}},
    {"OffsetsFractional",
     R"({"w": )" + e(R"("F32")", "[]", "[0,4.0]") + "}",
     4,
     {"tensor 'w'", "data_offsets must be two"}},
    {"OffsetsNotArray",
     R"({"w": )" + e(R"("F32")", "[]", "4") + "}",
     4,
     {"tensor 'w'", "data_offsets must be two"}},
    {"OffsetsDescending",
     R"({"w": )" + e(R"("F32")", "[]", "[8,4]") + "}",
     8,
     {"tensor 'w'", "data_offsets [8, 4] are not ascending"}},
    {"EndPastDataSection",
     R"({"w": )" + e(R"("F32")", "[2]", "[0,8]") + "}",
     4,
     {"tensor 'w'", "data_offsets [0, 8] reach past the data section (4 bytes)"}},
    {"HugeEndPastDataSection",
     R"({"w": )" + e(R"("U8")", "[]", "[18446744073709551615,18446744073709551615]") + "}",
     4,
     {"tensor 'w'", "reach past the data section"}},
    {"ShapeDoesNotMatchByteLength",
     R"({"layers.0.qweight": {"dtype":"I32","shape":[4,8],"data_offsets":[0,100]}})",
     128,
     {"tensor 'layers.0.qweight': data_offsets [0, 100] but shape [4, 8] x I32 needs 128 bytes"}},
    {"Overlap",
     R"({"a": )" + e(R"("U8")", "[8]", "[0,8]") + R"(, "b": )" + e(R"("U8")", "[8]", "[4,12]") +
         "}",
     12,
     {"'a' (data_offsets [0, 8])", "'b' (data_offsets [4, 12])", "overlap"}},
    {"OverlapOfIdenticalRanges",
     R"({"a": )" + e() + R"(, "b": )" + e() + "}",
     4,
     {"'a'", "'b'", "overlap"}},
    {"DuplicateTensorName",
     R"({"w": )" + e() + R"(, "w": )" + e() + "}",
     4,
     {"duplicate key 'w' at the top level"}},
    {"DuplicateField",
     R"({"w": {"dtype":"F32","dtype":"F32","shape":[],"data_offsets":[0,4]}})",
     4,
     {"duplicate key 'dtype' inside 'w'"}},
    {"MetadataNotObject",
     R"({"__metadata__": ["pt"]})",
     0,
     {"__metadata__ is not an object of strings (found array)"}},
    {"MetadataValueNotString",
     R"({"__metadata__": {"format": "pt", "step": 3}})",
     0,
     {"__metadata__ key 'step' is not a string (found number)"}},
    {"DeepNesting", R"({"w": [[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]})", 0, {"nests deeper"}},
};

INSTANTIATE_TEST_SUITE_P(Malformed, BadHeaderTest, ::testing::ValuesIn(kBadHeaders),
                         [](const ::testing::TestParamInfo<BadHeader>& info) {
                           return std::string(info.param.label);
                         });

TEST_F(SafetensorsTest, GapsBetweenTensorsAndEmptyTensorsAnywhereAreAllowed) {
  const std::string header = R"({"a": )" + e(R"("U8")", "[2]", "[0,2]") + R"(, "b": )" +
                             e(R"("U8")", "[2]", "[6,8]") + R"(, "z": )" +
                             e(R"("U8")", "[0]", "[1,1]") + "}";
  const auto f =
      st::SafetensorsFile::open(write_raw("gap.safetensors", framed(header, "ab....cd")));
  EXPECT_EQ(bytes_of(tensor(*f, "b")), std::vector<uint8_t>({'c', 'd'}));
  EXPECT_EQ(tensor(*f, "z").nbytes, 0u);
}

TEST_F(SafetensorsTest, ZeroDimensionMakesAnEmptyTensorHoweverLargeTheOthers) {
  // 2^32 * 2^32 * 0 elements: 0 bytes, although the first two dimensions alone overflow.
  const std::vector<int64_t> shape = {int64_t{1} << 32, int64_t{1} << 32, 0};
  const std::string header =
      R"({"w": )" + e(R"("F32")", "[4294967296,4294967296,0]", "[0,0]") + "}";
  const auto f = st::SafetensorsFile::open(write_raw("zero_dim.safetensors", framed(header)));
  EXPECT_EQ(tensor(*f, "w").shape, shape);
  EXPECT_EQ(tensor(*f, "w").nbytes, 0u);

  st::write_safetensors(path("written.safetensors"), {{"w", INCQ_DTYPE_F32, shape, {}}});
  EXPECT_EQ(tensor(*st::SafetensorsFile::open(path("written.safetensors")), "w").shape, shape);
}

// ------------------------------------------------------------------------------------------ fuzz

TEST_F(SafetensorsTest, TruncatedOrCorruptedFilesNeverCrash) {
  const std::string valid_path = path("valid.safetensors");
  st::write_safetensors(valid_path,
                        {{"a", INCQ_DTYPE_F32, {2, 3}, pattern(24, 1)},
                         {"b", INCQ_DTYPE_I8, {5}, pattern(5, 2)},
                         {"c", INCQ_DTYPE_BF16, {}, pattern(2, 3)}},
                        {{"format", "pt"}});
  const std::string valid = read_file(valid_path);
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | static_cast<uint8_t>(valid[i]);
  const std::string mutant = path("mutant.safetensors");

  // The tensors fill the data section up to the end of the file, so every cut loses something.
  for (size_t len = 0; len < valid.size(); ++len) {
    write_raw("mutant.safetensors", valid.substr(0, len));
    EXPECT_THROW(st::SafetensorsFile::open(mutant), Error) << "cut at " << len;
  }
  write_raw("mutant.safetensors", valid);
  EXPECT_NO_THROW(st::SafetensorsFile::open(mutant));

  std::mt19937 rng(20240611);
  std::uniform_int_distribution<size_t> position(0, 8 + header_len - 1);
  std::uniform_int_distribution<int> flips(1, 3), mask(1, 255);
  int rejected = 0;
  for (int iter = 0; iter < 2000; ++iter) {
    std::string bytes = valid;
    for (int k = flips(rng); k > 0; --k) bytes[position(rng)] ^= static_cast<char>(mask(rng));
    write_raw("mutant.safetensors", bytes);
    try {
      const auto f = st::SafetensorsFile::open(mutant);
      unsigned sum = 0;  // reading every byte of an accepted file must stay inside the mapping
      for (const auto& t : f->tensors())
        for (uint64_t i = 0; i < t.nbytes; ++i) sum += t.data[i];
      (void)sum;
    } catch (const Error&) {
      ++rejected;
    }
  }
  EXPECT_GT(rejected, 1000) << "most random header corruptions should be caught";
}

}  // namespace
