// API messages of `sbx template load` (POST /v1/templates/load): the archive
// the daemon should import and the template it made.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace sbx::proto {

/// POST /v1/templates/load body.
struct TemplateLoadRequest {
  std::string archive;  ///< absolute host path of the .tar (the daemon reads it)
  std::string tag;      ///< template name; "" = the archive's own tag
};

/// The answer: the loaded template.
struct LoadedTemplateInfo {
  std::string name;
  std::string id;        ///< content hash
  std::string format;    ///< "docker" or "oci"
  std::string image_id;  ///< the image's config digest
  std::string user;      ///< the image's configured user ("" = root)
  std::vector<std::string> env;
  std::string working_dir;
  uint64_t size_bytes = 0;
  bool reused = false;  ///< it was already loaded
};

std::string to_json(const TemplateLoadRequest& r);
Result<TemplateLoadRequest> parse_template_load_request(std::string_view text);
std::string to_json(const LoadedTemplateInfo& t);
Result<LoadedTemplateInfo> parse_loaded_template_info(std::string_view text);

}  // namespace sbx::proto
