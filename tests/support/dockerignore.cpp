#include "support/dockerignore.hpp"

#include <fnmatch.h>

#include <algorithm>
#include <sstream>

namespace hlscache::test {

namespace fs = std::filesystem;

namespace {

std::vector<std::string> split_path(const std::string& p) {
  std::vector<std::string> out;
  std::string part;
  std::istringstream in(p);
  while (std::getline(in, part, '/')) {
    if (part.empty() || part == ".") continue;
    if (part == ".." && !out.empty()) {
      out.pop_back();
      continue;
    }
    out.push_back(part);
  }
  return out;
}

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return {};
  return s.substr(b, s.find_last_not_of(" \t\r") - b + 1);
}

// fnmatch without FNM_NOESCAPE: `\` escapes like Docker's; one component, so no '/'.
bool component_matches(const std::string& pattern, const std::string& name) {
  return ::fnmatch(pattern.c_str(), name.c_str(), 0) == 0;
}

// The whole of `path` against the whole of `pattern` (components), "**" spanning any number.
bool matches_from(const std::vector<std::string>& pat, std::size_t pi, const std::vector<std::string>& path,
                  std::size_t si) {
  if (pi == pat.size()) return si == path.size();
  if (pat[pi] == "**") {
    for (std::size_t k = si; k <= path.size(); ++k)
      if (matches_from(pat, pi + 1, path, k)) return true;
    return false;
  }
  if (si == path.size() || !component_matches(pat[pi], path[si])) return false;
  return matches_from(pat, pi + 1, path, si + 1);
}

// Whether the pattern could match some path that has `dir` as a proper prefix.
bool could_match_below(const std::vector<std::string>& pat, std::size_t pi, const std::vector<std::string>& dir,
                       std::size_t si) {
  if (si == dir.size()) return pi < pat.size();
  if (pi == pat.size()) return false;
  if (pat[pi] == "**") return true;
  if (!component_matches(pat[pi], dir[si])) return false;
  return could_match_below(pat, pi + 1, dir, si + 1);
}

}  // namespace

std::optional<DockerIgnore> DockerIgnore::parse(const std::string& text, std::string* error) {
  DockerIgnore d;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    line = trim(line);
    if (line.empty() || line[0] == '#') continue;
    Pattern p;
    if (line[0] == '!') {
      p.include = true;
      line = trim(line.substr(1));
    }
    p.parts = split_path(line);  // filepath.Clean: "cmake/" -> "cmake", "/a" -> "a", "./a" -> "a"
    for (const auto& part : p.parts)
      if (part != "**" && part.find("**") != std::string::npos) {
        if (error) *error = "unsupported pattern '" + line + "': '**' inside a path component";
        return std::nullopt;
      }
    if (p.parts.empty()) continue;  // "." or "/": matches the root, which Docker never excludes
    d.patterns_.push_back(std::move(p));
  }
  return d;
}

bool DockerIgnore::excluded(const std::string& path) const {
  const auto parts = split_path(path);
  bool matched = false;
  for (const auto& p : patterns_) {
    // An exclusion only matters while not matched, a `!` only while matched.
    if (p.include != matched) continue;
    bool match = false;
    for (std::size_t n = parts.size(); n >= 1 && !match; --n)  // the path, then each parent
      match = matches_from(p.parts, 0, std::vector<std::string>(parts.begin(), parts.begin() + n), 0);
    if (match) matched = !p.include;
  }
  return matched;
}

bool DockerIgnore::may_include_below(const std::string& dir) const {
  const auto parts = split_path(dir);
  return std::any_of(patterns_.begin(), patterns_.end(),
                     [&](const Pattern& p) { return p.include && could_match_below(p.parts, 0, parts, 0); });
}

std::vector<std::string> DockerIgnore::context_files(const fs::path& root) const {
  std::vector<std::string> out;
  std::vector<std::string> dirs{""};
  while (!dirs.empty()) {
    const std::string dir = dirs.back();
    dirs.pop_back();
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(root / dir, ec)) {
      const std::string rel = dir.empty() ? e.path().filename().string() : dir + "/" + e.path().filename().string();
      if (e.is_directory() && !e.is_symlink()) {
        // An excluded directory is entered only if a `!` pattern may bring back something inside.
        if (!excluded(rel) || may_include_below(rel)) dirs.push_back(rel);
      } else if (!excluded(rel)) {
        out.push_back(rel);
      }
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace hlscache::test
