// Whole text files: written atomically, read whole.
#pragma once
#include <string>

namespace simbi::host {

// Writes text to path through a temporary file and a rename, so a reader never sees half of it.
void write_text_atomic(const std::string& path, const std::string& text);
// The file's bytes; throws RunError naming it when it cannot be read.
std::string read_text_file(const std::string& path);

}  // namespace simbi::host
