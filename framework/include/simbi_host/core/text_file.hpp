// Whole text files: written atomically, read whole.
#pragma once
#include <string>

namespace simbi::host {

// Writes text to path through a temporary file and a rename (AtomicFile), so a reader never sees
// half of it and a link at path is replaced, not followed.
void write_text_atomic(const std::string& path, const std::string& text);
// The file's bytes; throws RunError naming it when it cannot be read.
std::string read_text_file(const std::string& path);

}  // namespace simbi::host
