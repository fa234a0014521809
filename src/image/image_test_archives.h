// Test support (header-only): builds `docker save` archives and OCI image
// layout tarballs in memory from layer tars, and the two-layer image the
// template-load tests check (a whiteout, an opaque directory, symlinks, a
// hard link, owners and modes). Used by unit tests and the e2e suite.
#pragma once

#include <zlib.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "image/sha256.h"
#include "image/tar_writer.h"

namespace sbx::image::testing {

/// gzip-compresses `data` (one member).
inline std::string gzip(const std::string& data) {
  z_stream z{};
  deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&z, data.size()) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

inline std::string digest_of(const std::string& data) { return "sha256:" + sha256_hex(data); }

/// The image config for `layers` (uncompressed tars).
inline std::string image_config(const std::vector<std::string>& layers,
                                const std::string& user = "1000:1000") {
  nlohmann::json diff = nlohmann::json::array();
  for (auto& l : layers) diff.push_back(digest_of(l));
  nlohmann::json c = {{"architecture", "amd64"},
                      {"os", "linux"},
                      {"config",
                       {{"User", user},
                        {"Env", {"PATH=/usr/local/bin:/usr/bin:/bin", "GREETING=hello"}},
                        {"WorkingDir", "/work"},
                        {"Cmd", {"/bin/sh"}}}},
                      {"rootfs", {{"type", "layers"}, {"diff_ids", diff}}}};
  return c.dump();
}

/// A `docker save` archive (classic layout: <n>/layer.tar, <hex>.json).
inline std::string docker_archive(const std::vector<std::string>& layers,
                                  const std::string& tag = "test/image:1",
                                  const std::string& config = "") {
  std::string cfg = config.empty() ? image_config(layers) : config;
  std::string cfg_name = sha256_hex(cfg) + ".json";
  TarWriter w;
  nlohmann::json names = nlohmann::json::array();
  for (size_t i = 0; i < layers.size(); ++i) {
    std::string d = "layer" + std::to_string(i);
    w.dir(d);
    w.file(d + "/layer.tar", layers[i]);
    names.push_back(d + "/layer.tar");
  }
  w.file(cfg_name, cfg);
  nlohmann::json m =
      nlohmann::json::array({{{"Config", cfg_name}, {"RepoTags", {tag}}, {"Layers", names}}});
  w.file("manifest.json", m.dump());
  return w.finish();
}

/// An OCI image layout tarball with gzip-compressed layers.
inline std::string oci_archive(const std::vector<std::string>& layers,
                               const std::string& tag = "test/oci:1") {
  std::string cfg = image_config(layers);
  TarWriter w;
  w.file("oci-layout", R"({"imageLayoutVersion":"1.0.0"})");
  w.dir("blobs");
  w.dir("blobs/sha256");
  auto blob = [&](const std::string& data) {
    std::string d = digest_of(data);
    w.file("blobs/sha256/" + d.substr(7), data);
    return d;
  };
  nlohmann::json ls = nlohmann::json::array();
  for (auto& l : layers) {
    std::string gz = gzip(l);
    ls.push_back({{"mediaType", "application/vnd.oci.image.layer.v1.tar+gzip"},
                  {"digest", blob(gz)},
                  {"size", gz.size()}});
  }
  nlohmann::json manifest = {{"schemaVersion", 2},
                             {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                             {"config",
                              {{"mediaType", "application/vnd.oci.image.config.v1+json"},
                               {"digest", blob(cfg)},
                               {"size", cfg.size()}}},
                             {"layers", ls}};
  std::string mtext = manifest.dump();
  std::string md = blob(mtext);
  nlohmann::json index = {{"schemaVersion", 2},
                          {"manifests",
                           {{{"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                             {"digest", md},
                             {"size", mtext.size()},
                             {"platform", {{"os", "linux"}, {"architecture", "amd64"}}},
                             {"annotations", {{"org.opencontainers.image.ref.name", tag}}}}}}};
  w.file("index.json", index.dump());
  return w.finish();
}

/// Layer 1 of the test image.
inline std::string base_layer() {
  TarWriter w;
  w.dir("etc");
  w.file("etc/passwd",
         "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/nonexistent:/bin/false\n");
  w.file("etc/group", "root:x:0:\nsudo:x:27:\n");
  w.dir("keep", {0750, 1234, 5678});
  w.file("keep/a.txt", "one\n", {0640, 1234, 5678});
  w.dir("gone");
  w.file("gone/x.txt", "x\n");
  w.dir("opq");
  w.file("opq/old.txt", "old\n");
  w.dir("opq/sub");
  w.file("opq/sub/deep.txt", "deep\n");
  w.dir("data");
  w.file("data/target.txt", "hard\n", {0600, 42, 43});
  w.file("del.txt", "bye\n");
  return w.finish();
}

/// Layer 2: whiteouts, an opaque directory, links, a setuid file, a device.
inline std::string top_layer() {
  TarWriter w;
  w.file(".wh.del.txt", "");
  w.file(".wh.gone", "");
  w.dir("opq", {0711, 0, 0});
  w.file("opq/.wh..wh..opq", "");
  w.file("opq/new.txt", "new\n");
  w.symlink("link", "data/target.txt");
  w.symlink("abs", "/data/target.txt");
  w.hardlink("data/hard", "data/target.txt");
  w.file("keep/b.txt", "two\n", {0644, 1234, 5678});
  w.dir("usr");
  w.dir("usr/bin");
  w.file("usr/bin/su", "#!/bin/sh\n", {04755, 0, 0});
  w.dir("dev");
  w.chardev("dev/null", 1, 3);
  return w.finish();
}

}  // namespace sbx::image::testing
