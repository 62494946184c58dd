// The host's error kinds. Each maps to an exit code of the `simbi` command.
#pragma once
#include <stdexcept>
#include <string>

namespace simbi::host {

// A bad command line or manifest: exit code 2.
struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// A run that could not complete (a plugin failed, a file could not be written): exit code 1.
struct RunError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// A run that stopped at a safe point after SIGINT or SIGTERM, keeping what was done: exit code
// 128 + the signal (130, 143).
struct Interrupted : RunError {
    int signal;
    Interrupted(int sig, const std::string& what) : RunError(what), signal(sig) {}
};

// Text from a plugin, a bridge or a file, made safe to print: control characters (C0, DEL and
// the C1 range, which terminals obey) become escapes like \x1b or \n, so a message can neither
// move the cursor nor forge a line of simbi's own.
inline std::string printable(const std::string& text) {
    static const char* hex = "0123456789abcdef";
    std::string out;
    out.reserve(text.size());
    for (size_t i = 0; i < text.size(); ++i) {
        const unsigned char c = static_cast<unsigned char>(text[i]);
        const bool c1 = c == 0xc2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) >= 0x80 &&
                        static_cast<unsigned char>(text[i + 1]) <= 0x9f;
        if (c == '\n') {
            out += "\\n";
        } else if (c == '\t') {
            out += "\\t";
        } else if (c < 0x20 || c == 0x7f) {
            out += "\\x";
            out += hex[c >> 4];
            out += hex[c & 15];
        } else if (c1) {
            const unsigned char d = static_cast<unsigned char>(text[++i]);
            out += "\\u00";
            out += hex[d >> 4];
            out += hex[d & 15];
        } else {
            out += char(c);
        }
    }
    return out;
}

constexpr int kExitOk = 0;
constexpr int kExitRunFailed = 1;
constexpr int kExitUsage = 2;

}  // namespace simbi::host
