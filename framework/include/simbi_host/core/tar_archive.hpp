// A plain POSIX tar (ustar) archive of regular files: what a plugin bundle is, so `tar -tf`
// lists one. Writing is deterministic (owner 0, time 0, mode 0644, or 0755 for a file its owner
// can run); reading accepts only regular
// files with safe relative names, so an archive can never place a file outside the folder it is
// unpacked into.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace simbi::host {

struct TarEntry {
    std::string name;  // the name inside the archive: relative, '/'-separated
    std::string path;  // the file on disk to copy in
};

// Writes the archive to `target` (through AtomicFile); throws RunError naming the file.
void write_tar(const std::string& target, const std::vector<TarEntry>& entries);

// Whether a name is safe to unpack: relative, no "." or ".." part, no empty part, no part that
// starts with '.', only [A-Za-z0-9._+-] and '/', at most 99 characters.
bool safe_archive_name(const std::string& name);

// Reads the archive, writing each file under `folder` (which must exist; subfolders are made
// with mode 0755) with mode 0644 (0755 if the archive marks it executable), and returns the names in archive order. Throws RunError naming
// the archive and the entry on a bad checksum, a link, a device, an unsafe or repeated name, a
// truncated file, or an entry over max_file_bytes.
std::vector<std::string> extract_tar(const std::string& archive, const std::string& folder, uint64_t max_file_bytes);

}  // namespace simbi::host
