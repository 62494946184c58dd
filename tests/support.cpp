#include "support.hpp"

#include <hdf5.h>

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace simbi_test {

CliResult run_cli(const std::string& args, const std::string& env) {
    std::string cmd = env + (env.empty() ? "" : " ") + "'" SIMBI_TEST_BINARY "' " + args + " 2>&1";
    FILE* p = popen(cmd.c_str(), "r");
    if (!p) throw std::runtime_error("popen failed");
    std::string out;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    int status = pclose(p);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

TempDir::TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "simbi-test-XXXXXX").string();
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    if (!mkdtemp(buf.data())) throw std::runtime_error("mkdtemp failed");
    path_ = buf.data();
}

TempDir::~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
}

std::string kill_when_epoch(const std::string& manifest, const std::string& out_dir, int epoch) {
    std::vector<std::string> args = {SIMBI_TEST_BINARY, "run", manifest, "-q"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(&a[0]);
    argv.push_back(nullptr);
    pid_t pid;
    if (posix_spawn(&pid, SIMBI_TEST_BINARY, nullptr, nullptr, argv.data(), environ) != 0) throw std::runtime_error("posix_spawn failed");
    std::string state;
    bool killed = false;
    for (int i = 0; i < 12000 && !killed; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        state = checkpoint_state(out_dir);
        if (state.empty()) continue;
        std::string text = read_file(state);
        size_t at = text.find("\"epoch\":");
        if (at != std::string::npos && std::atoi(text.c_str() + at + 8) >= epoch) {
            kill(pid, SIGKILL);
            killed = true;
        }
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return killed ? checkpoint_state(out_dir) : std::string();
}

std::string checkpoint_state(const std::string& out_dir) {
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(out_dir + "/checkpoint", ec))
        if (std::filesystem::exists(e.path() / "state.json", ec)) return (e.path() / "state.json").string();
    return "";
}

void write_file(const std::string& path, const std::string& text) {
    std::ofstream out(path);
    out << text;
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

double mean_of(const std::vector<double>& v) {
    double s = 0;
    for (double x : v) s += x;
    return s / double(v.size());
}

double variance_of(const std::vector<double>& v) {
    double m = mean_of(v), s = 0;
    for (double x : v) s += (x - m) * (x - m);
    return s / double(v.size() - 1);
}

}  // namespace simbi_test

namespace simbi_test {

std::vector<double> read_h5_doubles(const std::string& file, const std::string& dataset) {
    const hid_t f = H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) throw std::runtime_error("cannot open " + file);
    const hid_t d = H5Dopen2(f, dataset.c_str(), H5P_DEFAULT);
    if (d < 0) {
        H5Fclose(f);
        throw std::runtime_error(file + " has no dataset " + dataset);
    }
    const hid_t space = H5Dget_space(d);
    std::vector<double> out(static_cast<size_t>(H5Sget_simple_extent_npoints(space)));
    const herr_t st = H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data());
    H5Sclose(space);
    H5Dclose(d);
    H5Fclose(f);
    if (st < 0) throw std::runtime_error("cannot read " + dataset + " of " + file);
    return out;
}

}  // namespace simbi_test
