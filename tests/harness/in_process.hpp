// The pipeline run inside the test process: what `simbi run` does, without starting the binary.
// Tests of the pipeline's behaviour (stages, reuse, outputs) use it; tests of the command line's
// contract (flags, exit codes, messages, signals) keep launching the binary through run_cli.
#pragma once
#include <string>
#include <vector>

#include "simbi_host/pipeline/pipeline.hpp"
#include "../support.hpp"

namespace simbi_test {

struct PipelineRun {
    std::string manifest;           // the manifest file
    std::vector<std::string> sets;  // "dotted.path=value", as --set
    std::string out;                // the output folder, as --out ("" = the manifest's)
    bool force = false;             // as --force
    bool quiet = true;              // as -q: no progress, no info lines
};

struct InProcessResult : CliResult {
    simbi::host::RunReport report;  // empty when the run failed
};

// Plans and runs like `simbi run`: exit_code as the CLI maps errors (2 usage or manifest, 1 a failed
// run), and output holding what the CLI would print: what the host and plugins wrote to stderr
// (notes, warnings, the error's message), then the summary lines.
InProcessResult run_in_process(const PipelineRun& run);

// Shorthands: a manifest with overrides, optionally into another folder.
InProcessResult run_in_process(const std::string& manifest, const std::vector<std::string>& sets = {}, const std::string& out = "");

// The same from a `simbi run` command line, shell-quoted as run_cli takes it ("run M.json -q --set
// a=1 --out DIR"): the words are split as a POSIX shell splits them (quotes, backslashes), and a
// flag the harness does not know fails the test rather than being dropped.
InProcessResult run_command_in_process(const std::string& command_line);

}  // namespace simbi_test
