// DockerIgnore: which files of a directory `docker build` sends as its build context,
// by the rules of a .dockerignore file — so a test can lay out exactly that context
// and run the Dockerfile's steps in it without a Docker engine.
// Rules (Docker's, moby/patternmatcher): a line is a pattern, `#` lines and blank
// lines are skipped; `!` re-includes; each pattern is path-cleaned (a trailing or
// leading `/` dropped); `*` and `?` never cross `/`, `[...]` is a class, `**` as a
// whole path component matches any number of components, `\` escapes. A path is
// excluded if the last pattern matching it, or one of its parent directories, is not
// a `!` pattern. Not supported (refused by parse): `**` inside a component ("a**b").
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace hlscache::test {

class DockerIgnore {
 public:
  struct Pattern {
    std::vector<std::string> parts;  // path components; "**" matches zero or more
    bool include = false;            // a `!` line
  };

  // nullopt (and *error set) for a pattern this matcher cannot honour faithfully.
  static std::optional<DockerIgnore> parse(const std::string& text, std::string* error = nullptr);

  // `path` is relative to the context root, '/'-separated, no leading "./".
  bool excluded(const std::string& path) const;
  // Whether some `!` pattern could match a path below directory `dir` (so a walk must
  // enter an excluded directory).
  bool may_include_below(const std::string& dir) const;

  // Every regular file (and symlink) under `root` that the context keeps, relative, sorted.
  std::vector<std::string> context_files(const std::filesystem::path& root) const;

  const std::vector<Pattern>& patterns() const { return patterns_; }

 private:
  std::vector<Pattern> patterns_;
};

}  // namespace hlscache::test
