// The YAML config (src/config/config.hpp, load_config_string): whatever the text, it is
// loaded or refused with errors — never a crash, an escaped exception or a hang. Every
// error line names the file and, where the YAML has a position, the line; a config that
// loads is emitted (to_yaml, what --check-config prints) and loads again.
#include <string>

#include "config/config.hpp"
#include "fuzz_support.hpp"

namespace {

// "f.yaml:LINE:COL: ..." or "f.yaml: key: ..." (no position: a missing key).
bool names_file_and_place(std::string_view line) {
  constexpr std::string_view kFile = "f.yaml:";
  if (line.substr(0, kFile.size()) != kFile) return false;
  line.remove_prefix(kFile.size());
  if (!line.empty() && line.front() == ' ') return true;
  std::size_t digits = 0;
  while (digits < line.size() && line[digits] >= '0' && line[digits] <= '9') ++digits;
  return digits > 0 && digits < line.size() && line[digits] == ':';
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string yaml(reinterpret_cast<const char*>(data), size);
  const auto cfg = hlscache::load_config_string(yaml, "f.yaml");
  if (!cfg.ok()) {
    std::string_view message = cfg.error().message;
    FUZZ_CHECK(!message.empty());
    // One error per line.
    while (!message.empty()) {
      const std::size_t eol = message.find('\n');
      const std::string_view line = message.substr(0, eol);
      if (!line.empty()) FUZZ_CHECK(names_file_and_place(line));
      if (eol == std::string_view::npos) break;
      message.remove_prefix(eol + 1);
    }
    return 0;
  }
  const std::string emitted = (*cfg)->to_yaml();
  const auto again = hlscache::load_config_string(emitted, "f.yaml");
  if (!again.ok()) std::fprintf(stderr, "emitted config does not load:\n%s\n%s\n", emitted.c_str(), again.error().message.c_str());
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK((*again)->to_yaml() == emitted);
  return 0;
}
