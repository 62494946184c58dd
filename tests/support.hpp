// Helpers for the tests: running the CLI, temporary folders, files.
#pragma once
#include <string>
#include <vector>

namespace simbi_test {

struct CliResult {
    int exit_code;
    std::string output;  // stdout and stderr together
};

// Runs the simbi binary with a shell-quoted argument string.
CliResult run_cli(const std::string& args, const std::string& env = "");

// A fresh folder under the system temp folder, removed at destruction.
class TempDir {
public:
    TempDir();
    ~TempDir();
    const std::string& path() const { return path_; }
    std::string file(const std::string& name) const { return path_ + "/" + name; }

private:
    std::string path_;
};

void write_file(const std::string& path, const std::string& text);

// Starts `simbi run MANIFEST` and SIGKILLs it once its checkpoint in out_dir holds `epoch`
// epochs or more; returns the checkpoint's state.json, or "" if the training ended first.
std::string kill_when_epoch(const std::string& manifest, const std::string& out_dir, int epoch);

// The state.json of the training checkpoint in a run's output folder (<out>/checkpoint/<key>/),
// or "" while there is none.
std::string checkpoint_state(const std::string& out_dir);
std::string read_file(const std::string& path);
// Every value of an HDF5 file's float64 dataset, flattened in row-major order.
std::vector<double> read_h5_doubles(const std::string& file, const std::string& dataset);

// Mean and sample variance.
double mean_of(const std::vector<double>& v);
double variance_of(const std::vector<double>& v);

}  // namespace simbi_test
