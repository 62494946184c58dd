// ustar, POSIX.1-1988: 512-byte headers, octal numeric fields, data padded to 512 bytes, two zero
// blocks at the end.
#include "simbi_host/core/tar_archive.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>

#include "simbi_host/core/errors.hpp"
#include "simbi_host/core/safe_files.hpp"

namespace simbi::host {

namespace fs = std::filesystem;

namespace {

using Block = std::array<char, 512>;

void put_octal(char* field, size_t width, uint64_t value) {
    // width - 1 digits and a NUL, as GNU tar writes them.
    std::snprintf(field, width, "%0*llo", static_cast<int>(width - 1), static_cast<unsigned long long>(value));
}

uint64_t header_checksum(const Block& b) {
    uint64_t sum = 0;
    for (size_t i = 0; i < 512; ++i) sum += (i >= 148 && i < 156) ? uint8_t(' ') : uint8_t(b[i]);
    return sum;
}

bool read_octal(const char* field, size_t width, uint64_t& out) {
    out = 0;
    size_t i = 0;
    while (i < width && field[i] == ' ') ++i;
    bool any = false;
    for (; i < width && field[i] >= '0' && field[i] <= '7'; ++i, any = true) out = out * 8 + uint64_t(field[i] - '0');
    for (; i < width; ++i)
        if (field[i] != '\0' && field[i] != ' ') return false;
    return any;
}

}  // namespace

bool safe_archive_name(const std::string& name) {
    if (name.empty() || name.size() > 99 || name.front() == '/' || name.back() == '/') return false;
    size_t start = 0;
    while (start <= name.size()) {
        size_t end = name.find('/', start);
        if (end == std::string::npos) end = name.size();
        const std::string part = name.substr(start, end - start);
        if (part.empty() || part.front() == '.') return false;  // also "." and ".."
        for (char c : part)
            if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-' || c == '+')) return false;
        start = end + 1;
    }
    return true;
}

void write_tar(const std::string& target, const std::vector<TarEntry>& entries) {
    AtomicFile out(target);
    std::set<std::string> names;
    for (const auto& e : entries) {
        if (!safe_archive_name(e.name)) throw RunError(target + ": cannot pack a file named '" + e.name + "'");
        if (!names.insert(e.name).second) throw RunError(target + ": two files would be packed as '" + e.name + "'");
        std::ifstream in(e.path, std::ios::binary);
        if (!in) throw RunError("cannot read " + e.path + " to pack it");
        std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        Block h{};
        std::memcpy(h.data(), e.name.data(), e.name.size());
        struct stat st {};
        const bool executable = ::stat(e.path.c_str(), &st) == 0 && (st.st_mode & S_IXUSR);
        put_octal(&h[100], 8, executable ? 0755 : 0644);
        put_octal(&h[108], 8, 0);
        put_octal(&h[116], 8, 0);
        put_octal(&h[124], 12, data.size());
        put_octal(&h[136], 12, 0);
        h[156] = '0';
        std::memcpy(&h[257], "ustar", 6);
        std::memcpy(&h[263], "00", 2);
        std::snprintf(&h[148], 8, "%06llo", static_cast<unsigned long long>(header_checksum(h)));
        h[155] = ' ';
        out.write(h.data(), h.size());
        out.write(data.data(), data.size());
        const size_t pad = (512 - data.size() % 512) % 512;
        out.write(std::string(pad, '\0'));
    }
    out.write(std::string(1024, '\0'));
    out.commit();
}

std::vector<std::string> extract_tar(const std::string& archive, const std::string& folder, uint64_t max_file_bytes) {
    std::ifstream in(archive, std::ios::binary);
    if (!in) throw RunError("cannot read " + archive);
    std::vector<std::string> names;
    std::set<std::string> seen;
    for (uint64_t index = 0;; ++index) {
        Block h{};
        in.read(h.data(), h.size());
        if (in.gcount() != 512) throw RunError(archive + ": the archive ends without its end marker (truncated?)");
        if (std::all_of(h.begin(), h.end(), [](char c) { return c == '\0'; })) break;
        const std::string where = archive + ": entry " + std::to_string(index + 1);
        uint64_t sum = 0, size = 0, mode = 0;
        if (!read_octal(&h[148], 8, sum) || sum != header_checksum(h))
            throw RunError(where + " has a bad header checksum (not a simbi bundle, or damaged)");
        const std::string name(h.data(), strnlen(h.data(), 100));
        if (h[345] != '\0') throw RunError(where + " ('" + name + "') has a long-name prefix; bundles hold short names only");
        if (h[156] != '0' && h[156] != '\0')
            throw RunError(where + " ('" + name + "') is not a regular file (links and devices are refused)");
        if (!safe_archive_name(name))
            throw RunError(where + " has an unsafe name '" + name + "' (absolute, '..', hidden or odd characters)");
        if (!seen.insert(name).second) throw RunError(where + " repeats the name '" + name + "'");
        if (!read_octal(&h[100], 8, mode)) mode = 0644;
        if (!read_octal(&h[124], 12, size)) throw RunError(where + " ('" + name + "') has a bad size field");
        if (size > max_file_bytes) throw RunError(where + " ('" + name + "') is " + std::to_string(size) + " bytes, over the limit");
        const fs::path dest = fs::path(folder) / name;
        if (dest.has_parent_path() && dest.parent_path() != fs::path(folder)) {
            fs::path sub;
            for (const auto& part : fs::path(name).parent_path()) {
                sub /= part;
                make_folder((fs::path(folder) / sub).string());
                ::chmod((fs::path(folder) / sub).c_str(), 0755);
            }
        }
        AtomicFile out(dest.string());
        std::vector<char> buffer(1 << 16);
        uint64_t left = size;
        while (left > 0) {
            const size_t n = static_cast<size_t>(std::min<uint64_t>(left, buffer.size()));
            in.read(buffer.data(), static_cast<std::streamsize>(n));
            if (static_cast<size_t>(in.gcount()) != n) throw RunError(where + " ('" + name + "') is truncated");
            out.write(buffer.data(), n);
            left -= n;
        }
        out.commit();
        ::chmod(dest.c_str(), (mode & 0111) ? 0755 : 0644);
        in.ignore(static_cast<std::streamsize>((512 - size % 512) % 512));
        names.push_back(name);
    }
    return names;
}

}  // namespace simbi::host
