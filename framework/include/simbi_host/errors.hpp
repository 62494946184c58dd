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

constexpr int kExitOk = 0;
constexpr int kExitRunFailed = 1;
constexpr int kExitUsage = 2;

}  // namespace simbi::host
