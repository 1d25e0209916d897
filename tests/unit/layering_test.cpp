// The include test: every `#include "part/..."` under src/ must be an arrow that the
// layering table in docs/design.md allows (a part may always include itself). The
// table is read from the document, so the map and the code cannot drift apart
// silently: a new arrow needs a new row or cell there, in the same change.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>

namespace {

namespace fs = std::filesystem;
const fs::path kRoot = HLSCACHE_SOURCE_DIR;

// part -> the parts it may include, from the table after the layering marker.
std::map<std::string, std::set<std::string>> read_table(std::string& error) {
  std::ifstream in(kRoot / "docs" / "design.md");
  if (!in) {
    error = "docs/design.md not found";
    return {};
  }
  std::map<std::string, std::set<std::string>> allowed;
  std::string line;
  bool in_table = false;
  const std::regex name("`([a-z_]+)`");
  while (std::getline(in, line)) {
    if (line.find("<!-- layering table") != std::string::npos) {
      in_table = true;
      continue;
    }
    if (!in_table) continue;
    if (line.empty()) {
      if (!allowed.empty()) break;
      continue;
    }
    if (line.rfind("| `", 0) != 0) continue;  // the header and the separator
    const auto second_bar = line.find('|', 1);
    const std::string part_cell = line.substr(1, second_bar - 1);
    const std::string allowed_cell = line.substr(second_bar + 1);
    std::smatch m;
    if (!std::regex_search(part_cell, m, name)) continue;
    auto& set = allowed[m[1]];
    for (std::sregex_iterator it(allowed_cell.begin(), allowed_cell.end(), name), end; it != end; ++it)
      set.insert((*it)[1]);
  }
  if (allowed.empty()) error = "no layering table after '<!-- layering table' in docs/design.md";
  return allowed;
}

TEST(Layering, EveryIncludeUnderSrcIsAnArrowTheDesignAllows) {
  std::string error;
  const auto allowed = read_table(error);
  ASSERT_TRUE(error.empty()) << error;

  std::set<std::string> parts;
  for (const auto& e : fs::directory_iterator(kRoot / "src"))
    if (e.is_directory()) parts.insert(e.path().filename().string());
  for (const auto& p : parts) EXPECT_TRUE(allowed.count(p)) << "src/" << p << "/ has no row in docs/design.md's layering table";
  for (const auto& [p, _] : allowed) EXPECT_TRUE(parts.count(p)) << "the layering table names '" << p << "', which is not under src/";

  const std::regex include_re(R"re(^\s*#\s*include\s*"([a-z_]+)/)re");
  std::size_t includes = 0;
  std::ostringstream bad;
  for (const auto& e : fs::recursive_directory_iterator(kRoot / "src")) {
    const auto ext = e.path().extension();
    if (!e.is_regular_file() || (ext != ".cpp" && ext != ".hpp")) continue;
    const fs::path rel = fs::relative(e.path(), kRoot / "src");
    const std::string from = rel.begin()->string();
    std::ifstream in(e.path());
    std::string line;
    int n = 0;
    while (std::getline(in, line)) {
      ++n;
      std::smatch m;
      if (!std::regex_search(line, m, include_re)) continue;
      const std::string to = m[1];
      if (!parts.count(to)) continue;  // not one of ours (e.g. "support/...": never under src/)
      ++includes;
      if (to == from) continue;
      auto it = allowed.find(from);
      if (it == allowed.end() || !it->second.count(to))
        bad << "  src/" << rel.string() << ":" << n << ": " << from << " -> " << to << "\n";
    }
  }
  EXPECT_GT(includes, 100u) << "the scan found almost no includes: is HLSCACHE_SOURCE_DIR right?";
  EXPECT_TRUE(bad.str().empty()) << "includes the layering table in docs/design.md does not allow:\n" << bad.str();
}

}  // namespace
