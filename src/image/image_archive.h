// Reads a container image archive: the `docker save` format (manifest.json,
// a config, layer tars) or an OCI image layout tarball (oci-layout,
// index.json, blobs/sha256/...). Every blob is checked against its digest
// while it streams: the config before it is trusted, each layer as it is
// applied (compressed digest, and the config's diff_id of the tar inside).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/fd.h"
#include "base/result.h"
#include "image/tar_reader.h"

namespace sbx::image {

/// What the image's config says about how to run it.
struct ImageConfig {
  std::string user;
  std::vector<std::string> env;
  std::string working_dir;
  std::vector<std::string> entrypoint;
  std::vector<std::string> cmd;
  std::string os;
  std::string architecture;
  std::vector<std::string> diff_ids;  ///< sha256 of each uncompressed layer
};

/// One layer: where it is in the archive and what it must hash to.
struct LayerRef {
  std::string member;   ///< path inside the outer archive
  std::string digest;   ///< "sha256:..." of the member's bytes, or "" if unknown
  std::string diff_id;  ///< "sha256:..." of the uncompressed tar
};

/// Parses an image config (JSON). Pure; exposed for tests.
Result<ImageConfig> parse_image_config(const std::string& json);

/// An opened image archive: its members indexed, manifest and config read.
class ImageArchive {
 public:
  /// Opens and indexes `path`, reads the manifest and the config and checks
  /// the config's digest.
  static Result<ImageArchive> open(const std::string& path);

  /// "docker" or "oci".
  const std::string& format() const { return format_; }
  /// "sha256:..." of the config: the image id.
  const std::string& config_digest() const { return config_digest_; }
  const ImageConfig& config() const { return config_; }
  const std::vector<LayerRef>& layers() const { return layers_; }
  /// Tags the archive names (docker's RepoTags, OCI's ref.name), maybe none.
  const std::vector<std::string>& tags() const { return tags_; }

  /// Streams layer `i`, decompressed, to `apply`, then checks its digests
  /// (after `apply`: the caller must discard what it wrote on error).
  Result<void> read_layer(size_t i, const std::function<Result<void>(TarReader&)>& apply);

 private:
  struct Member {
    uint64_t offset = 0;
    uint64_t size = 0;
    std::string link;  // a symlink member's target, resolved to a member path
  };
  Result<const Member*> find(const std::string& name) const;
  Result<std::string> read_member(const std::string& name, size_t max,
                                  const std::string& digest) const;
  Result<void> index();
  Result<void> read_docker();
  Result<void> read_oci();
  Result<void> read_config(const std::string& member, const std::string& digest);

  std::string path_;
  Fd fd_;
  std::map<std::string, Member> members_;
  std::string format_;
  std::string config_digest_;
  ImageConfig config_;
  std::vector<LayerRef> layers_;
  std::vector<std::string> tags_;
};

}  // namespace sbx::image
