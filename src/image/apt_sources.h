// Reading the host's apt sources, to build templates from the same Debian
// mirror the host already uses (never a hard-coded one). Parsing is pure and
// covers both formats: one-line sources.list and deb822 *.sources.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace sbx::image {

/// One apt source entry (a one-line "deb" line or a deb822 stanza).
struct AptSource {
  std::vector<std::string> types;  ///< "deb", "deb-src"
  std::vector<std::string> uris;
  std::vector<std::string> suites;
  std::vector<std::string> components;
  std::string signed_by;  ///< empty when absent
  bool enabled = true;    ///< false for deb822 "Enabled: no"

  bool operator==(const AptSource&) const = default;
};

/// Parses sources.list one-line format: "deb [opt=v ...] URI SUITE COMP...".
/// Comment lines and trailing comments are ignored.
std::vector<AptSource> parse_one_line_sources(std::string_view text);

/// Parses deb822 format (*.sources): blank-line separated stanzas with
/// Types/URIs/Suites/Components/Signed-By/Enabled fields; comment lines and
/// continuation lines allowed.
std::vector<AptSource> parse_deb822_sources(std::string_view text);

/// Keeps only enabled binary ("deb") entries of the Debian archive for
/// `release`: suites `release`, `release`-updates, `release`-security, the
/// "main" component, and Signed-By absent or Debian's archive keyring. Drops
/// third-party repositories (their own keyring, their own suite or
/// component names). Entries keep only the matching suites, component main.
std::vector<AptSource> filter_debian_sources(const std::vector<AptSource>& sources,
                                             const std::string& release);

/// Renders entries as one-line sources.list text: one "deb URI SUITE main"
/// line per URI and suite.
std::string render_sources_list(const std::vector<AptSource>& sources);

/// Reads <etc_apt>/sources.list and <etc_apt>/sources.list.d/*.list and
/// *.sources (in name order, as apt does).
Result<std::vector<AptSource>> read_apt_sources(const std::string& etc_apt = "/etc/apt");

/// The host's Debian sources for `release` as sources.list text; an error
/// naming what to configure if there are none.
Result<std::string> host_debian_sources_list(const std::string& release,
                                             const std::string& etc_apt = "/etc/apt");

}  // namespace sbx::image
