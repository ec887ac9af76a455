// The program binary cache: a second store loads what the first built; a corrupt or truncated
// entry is rejected, rebuilt from source and rewritten; the key follows the build options.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "device_select.hpp"
#include "program_store.hpp"
#include "session.hpp"

namespace incq::inc_xpu {
namespace {

// A small program (routing and combine only) keeps PoCL's compile time down.
ProgramSpec small_spec(const std::string& extra = "") {
  return {{"common_act_io.cl", "moe_route.cl"}, "-DACT_DTYPE=1" + extra};
}

struct CacheDir {
  std::string path;
  CacheDir() {
    path = (std::filesystem::temp_directory_path() / ("incq-xpu-cache-" + std::to_string(::getpid()))).string();
    std::filesystem::remove_all(path);
  }
  ~CacheDir() { std::filesystem::remove_all(path); }
};

std::shared_ptr<Session> session() {
  const auto sel = cl_support::select_device({});
  if (sel.device == nullptr) return nullptr;
  return Session::create(sel.device);
}

TEST(XpuProgramCache, SecondStoreLoadsFromDisk) {
  auto s = session();
  ASSERT_NE(s, nullptr) << cl_support::select_device({}).reason;
  CacheDir dir;
  {
    ProgramStore a(dir.path, "");
    EXPECT_NE(a.get(*s, small_spec()), nullptr);
    EXPECT_EQ(a.stats().built_from_source, 1);
    EXPECT_EQ(a.stats().loaded_from_disk, 0);
    EXPECT_TRUE(std::filesystem::exists(a.cache_path(s->device(), small_spec())));
    a.get(*s, small_spec());  // in-memory hit: nothing new
    EXPECT_EQ(a.stats().built_from_source, 1);
  }
  ProgramStore b(dir.path, "");
  EXPECT_NE(b.get(*s, small_spec()), nullptr);
  EXPECT_EQ(b.stats().loaded_from_disk, 1);
  EXPECT_EQ(b.stats().built_from_source, 0);
  EXPECT_EQ(b.stats().rejected_entries, 0);
}

TEST(XpuProgramCache, CorruptAndTruncatedEntriesAreRebuilt) {
  auto s = session();
  ASSERT_NE(s, nullptr);
  CacheDir dir;
  std::string path;
  {
    ProgramStore a(dir.path, "");
    a.get(*s, small_spec());
    path = a.cache_path(s->device(), small_spec());
  }
  const auto size = std::filesystem::file_size(path);
  ASSERT_GT(size, 64u);
  {  // flip one byte near the end (inside the binary payload)
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(static_cast<std::streamoff>(size - 5));
    char c = 0;
    f.read(&c, 1);
    c = static_cast<char>(c ^ 0x5a);
    f.seekp(static_cast<std::streamoff>(size - 5));
    f.write(&c, 1);
  }
  {
    ProgramStore b(dir.path, "");
    EXPECT_NE(b.get(*s, small_spec()), nullptr);
    EXPECT_EQ(b.stats().rejected_entries, 1);
    EXPECT_NE(b.stats().last_rejection.find("checksum"), std::string::npos) << b.stats().last_rejection;
    EXPECT_EQ(b.stats().built_from_source, 1);
  }
  {  // the rebuilt entry was rewritten and is trusted again
    ProgramStore c(dir.path, "");
    c.get(*s, small_spec());
    EXPECT_EQ(c.stats().loaded_from_disk, 1);
    EXPECT_EQ(c.stats().rejected_entries, 0);
  }
  std::filesystem::resize_file(path, size / 2);
  {
    ProgramStore d(dir.path, "");
    EXPECT_NE(d.get(*s, small_spec()), nullptr);
    EXPECT_EQ(d.stats().rejected_entries, 1);
    EXPECT_EQ(d.stats().built_from_source, 1);
  }
  {  // garbage with no header at all
    std::ofstream(path, std::ios::binary | std::ios::trunc) << "not a program binary";
    ProgramStore e(dir.path, "");
    EXPECT_NE(e.get(*s, small_spec()), nullptr);
    EXPECT_EQ(e.stats().rejected_entries, 1);
    EXPECT_NE(e.stats().last_rejection.find("magic"), std::string::npos);
  }
}

TEST(XpuProgramCache, KeyFollowsOptionsAndDisabledCacheWritesNothing) {
  auto s = session();
  ASSERT_NE(s, nullptr);
  CacheDir dir;
  ProgramStore a(dir.path, "");
  EXPECT_NE(a.cache_path(s->device(), small_spec()), a.cache_path(s->device(), small_spec(" -DUNUSED=1")));
  ProgramStore off("", "");
  EXPECT_EQ(off.cache_path(s->device(), small_spec()), "");
  off.get(*s, small_spec());
  EXPECT_EQ(off.stats().built_from_source, 1);
  EXPECT_FALSE(std::filesystem::exists(dir.path));
}

TEST(XpuProgramCache, BuildFailureCarriesTheLog) {
  auto s = session();
  ASSERT_NE(s, nullptr);
  ProgramStore a("", "-DINCQ_XPU_SELF_TEST_BUILD_ERROR");
  try {
    a.get(*s, small_spec());
    FAIL() << "the build should have failed";
  } catch (const std::exception& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("kernel build failed"), std::string::npos) << what;
    EXPECT_NE(what.find("build failure requested"), std::string::npos) << "the build log is missing: " << what;
  }
}

}  // namespace
}  // namespace incq::inc_xpu
