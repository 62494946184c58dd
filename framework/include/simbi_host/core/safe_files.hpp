// Creating files without following links or replacing what is not simbi's.
//
// Every file simbi writes goes through a temporary file with a random name in the target's
// folder, created with O_CREAT | O_EXCL (which never follows a symbolic link), and is renamed over
// the target: a reader sees the old file or the whole new one, and a link planted at the target
// is replaced, never followed. Files that live on (locks, journals) are opened with O_NOFOLLOW.
#pragma once
#include <sys/types.h>

#include <cstdio>
#include <string>

namespace simbi::host {

// A file written under a temporary name and renamed over `target` by commit(). Destroyed
// uncommitted, it removes the temporary file and leaves the target as it was.
class AtomicFile {
public:
    explicit AtomicFile(std::string target);
    ~AtomicFile();
    AtomicFile(const AtomicFile&) = delete;
    AtomicFile& operator=(const AtomicFile&) = delete;

    // A stdio stream on the temporary file.
    std::FILE* stream() { return stream_; }
    void write(const void* data, size_t n);
    void write(const std::string& text) { write(text.data(), text.size()); }
    // Flushes, closes and renames; throws RunError naming the target (a full disk, say).
    void commit();
    const std::string& target() const { return target_; }

private:
    std::string target_, temp_;
    std::FILE* stream_ = nullptr;
    bool committed_ = false;
};

// A name in target's folder that no file has: "<folder>/.<name>.<random>.tmp", for libraries
// that create files themselves (HDF5's H5F_ACC_EXCL, which uses O_EXCL). The caller renames
// it over target when complete, with rename_over().
std::string unique_temp_path(const std::string& target);
// Renames `from` over `to`; throws RunError naming both.
void rename_over(const std::string& from, const std::string& to);

// open(2) of a file that outlives a run (a lock, a journal), never through a symbolic link:
// throws RunError naming the file and saying it is a link, or why it cannot be opened. `what`
// names the file's role in messages ("the lock file").
int open_no_follow(const std::string& path, int flags, mode_t mode, const std::string& what);

// Creates a folder simbi owns inside a run folder or a store's folder (plots/, diagnostics/,
// artifact/) unless it exists, with its parents; an existing one must be a real folder, not a
// link to one elsewhere. Throws RunError.
void make_folder(const std::string& path);

}  // namespace simbi::host
