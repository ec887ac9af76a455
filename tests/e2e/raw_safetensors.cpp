#include "raw_safetensors.hpp"

#include <filesystem>
#include <stdexcept>

#include "e2e_support.hpp"

namespace incq::e2e {

RawSafetensors RawSafetensors::read(const std::string& path) {
  const std::string bytes = read_text(path);
  if (bytes.size() < 8) throw std::runtime_error(path + ": shorter than the header length");
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<uint8_t>(bytes[static_cast<size_t>(i)]);
  if (n > bytes.size() - 8) throw std::runtime_error(path + ": header length past the end");
  RawSafetensors r;
  r.header = nlohmann::ordered_json::parse(bytes.substr(8, n));
  r.data.assign(bytes.begin() + static_cast<std::ptrdiff_t>(8 + n), bytes.end());
  return r;
}

void RawSafetensors::write(const std::string& path) const {
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[static_cast<size_t>(i)] = static_cast<char>((text.size() >> (8 * i)) & 0xFF);
  out += text;
  out.append(reinterpret_cast<const char*>(data.data()), data.size());
  write_text(path, out);
}

uint8_t* RawSafetensors::bytes_of(const std::string& name) {
  const auto& off = header.at(name).at("data_offsets");
  return data.data() + off[0].get<uint64_t>();
}

size_t RawSafetensors::size_of(const std::string& name) const {
  const auto& off = header.at(name).at("data_offsets");
  return off[1].get<uint64_t>() - off[0].get<uint64_t>();
}

void RawSafetensors::remove(const std::string& name) {
  if (header.erase(name) != 1) throw std::runtime_error("no tensor " + name);
}

void RawSafetensors::replace(const std::string& name, const std::string& dtype, const std::vector<int64_t>& shape,
                             const std::vector<uint8_t>& bytes) {
  const uint64_t begin = data.size();
  data.insert(data.end(), bytes.begin(), bytes.end());
  header[name] = {{"dtype", dtype}, {"shape", shape}, {"data_offsets", {begin, data.size()}}};
}

std::string single_shard(const std::string& checkpoint_dir) {
  const std::string path = checkpoint_dir + "/model.safetensors";
  if (!std::filesystem::exists(path)) throw std::runtime_error(checkpoint_dir + " has no single model.safetensors");
  return path;
}

uint16_t read_u16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }

void write_u16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v & 0xFF);
  p[1] = static_cast<uint8_t>(v >> 8);
}

}  // namespace incq::e2e
