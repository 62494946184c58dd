#include "simbi_host/text_file.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "simbi_host/errors.hpp"

namespace fs = std::filesystem;

namespace simbi::host {

void write_text_atomic(const std::string& path, const std::string& text) {
    const std::string tmp = path + ".tmp";
    {
        std::ofstream out(tmp, std::ios::binary);
        out << text;
        out.flush();
        if (!out) throw RunError("cannot write " + tmp + " (is the disk full?)");
    }
    std::error_code ec;
    fs::rename(tmp, path, ec);
    if (ec) throw RunError("cannot rename " + tmp + " to " + path + ": " + ec.message());
}

std::string read_text_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw RunError("cannot read " + path);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

}  // namespace simbi::host
