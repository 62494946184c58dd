#include "simbi_host/core/text_file.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "simbi_host/core/errors.hpp"
#include "simbi_host/core/safe_files.hpp"

namespace fs = std::filesystem;

namespace simbi::host {

void write_text_atomic(const std::string& path, const std::string& text) {
    AtomicFile file(path);
    file.write(text);
    file.commit();
}

std::string read_text_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw RunError("cannot read " + path);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

}  // namespace simbi::host
