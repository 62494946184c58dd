#include "in_process.hpp"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <stdexcept>

#include "simbi_host/core/errors.hpp"
#include "simbi_host/pipeline/lab_config.hpp"
#include "simbi_host/pipeline/plan.hpp"

namespace simbi_test {
namespace {

// Sends this process's stderr (file descriptor 2: the host's notes and warnings, the plugins' log
// lines) to a temporary file for the scope, and hands back what was written.
class CaptureStderr {
public:
    CaptureStderr() : file_(std::tmpfile()) {
        if (!file_) throw std::runtime_error("tmpfile failed");
        std::fflush(stderr);
        std::cerr.flush();
        saved_ = dup(2);
        dup2(fileno(file_), 2);
    }
    ~CaptureStderr() { restore(); }
    std::string take() {
        restore();
        std::string text;
        std::rewind(file_);
        char buf[4096];
        size_t n;
        while ((n = std::fread(buf, 1, sizeof buf, file_)) > 0) text.append(buf, n);
        return text;
    }

private:
    void restore() {
        if (saved_ < 0) return;
        std::fflush(stderr);
        std::cerr.flush();
        dup2(saved_, 2);
        close(saved_);
        saved_ = -1;
    }
    std::FILE* file_;
    int saved_ = -1;
};

// Words as a POSIX shell splits them: blanks separate, '...' is literal, "..." and \ escape.
std::vector<std::string> shell_words(const std::string& line) {
    std::vector<std::string> words;
    std::string word;
    bool in_word = false;
    for (size_t i = 0; i < line.size(); ++i) {
        const char c = line[i];
        if (c == ' ' || c == '\t' || c == '\n') {
            if (in_word) words.push_back(word), word.clear(), in_word = false;
            continue;
        }
        in_word = true;
        if (c == '\'') {
            const size_t end = line.find('\'', i + 1);
            if (end == std::string::npos) throw std::invalid_argument("unterminated ' in: " + line);
            word += line.substr(i + 1, end - i - 1);
            i = end;
        } else if (c == '"') {
            for (++i; i < line.size() && line[i] != '"'; ++i) {
                if (line[i] == '\\' && i + 1 < line.size()) ++i;
                word += line[i];
            }
            if (i == line.size()) throw std::invalid_argument("unterminated \" in: " + line);
        } else if (c == '\\' && i + 1 < line.size()) {
            word += line[++i];
        } else {
            word += c;
        }
    }
    if (in_word) words.push_back(word);
    return words;
}

}  // namespace

InProcessResult run_command_in_process(const std::string& command_line) {
    const std::vector<std::string> words = shell_words(command_line);
    if (words.size() < 2 || words[0] != "run") throw std::invalid_argument("not a `simbi run` command line: " + command_line);
    PipelineRun run;
    run.manifest = words[1];
    run.quiet = false;
    for (size_t i = 2; i < words.size(); ++i) {
        const std::string& w = words[i];
        const bool has_value = i + 1 < words.size();
        if (w == "-q" || w == "--quiet")
            run.quiet = true;
        else if (w == "--force")
            run.force = true;
        else if (w == "--set" && has_value)
            run.sets.push_back(words[++i]);
        else if (w == "--out" && has_value)
            run.out = words[++i];
        else
            throw std::invalid_argument("the in-process harness does not take '" + w + "' (launch the binary): " + command_line);
    }
    return run_in_process(run);
}

InProcessResult run_in_process(const PipelineRun& run) {
    InProcessResult result;
    std::ostringstream out;
    CaptureStderr capture;
    try {
        simbi::host::Manifest m = simbi::host::load_manifest(run.manifest, run.sets);
        if (!run.out.empty()) m.output = std::filesystem::absolute(run.out).lexically_normal().string();
        simbi::host::PluginRegistry registry(simbi::host::registry_options(m.plugin_paths, m.allow_unsafe_plugins));
        for (const auto& p : registry.problems()) std::cerr << "warning: " << p << "\n";
        simbi::host::adapt_to_switched_estimator(m, registry);
        simbi::host::HostServices host;
        host.set_quiet(run.quiet);
        simbi::host::RunOptions options;
        options.quiet = run.quiet;
        options.force = run.force;
        const simbi::host::RunPlan plan = simbi::host::plan_run(m, registry, host);
        result.report = simbi::host::run_pipeline(plan, registry, host, options);
        const auto& r = result.report;
        if (r.reused_simulations && r.reused_training)
            out << "up to date: " << r.output_dir << "\n";
        else
            out << "run complete: " << r.output_dir << "\n";
        for (const auto& f : r.written) out << "  " << f << "\n";
        result.exit_code = 0;
    } catch (const simbi::host::UsageError& e) {
        std::cerr << "simbi run: error: " << e.what() << "\n";
        result.exit_code = simbi::host::kExitUsage;
    } catch (const std::exception& e) {
        std::cerr << "simbi run: failed: " << e.what() << "\n";
        result.exit_code = simbi::host::kExitRunFailed;
    }
    // The CLI's order: what was said while running, then the summary.
    result.output = capture.take() + out.str();
    return result;
}

InProcessResult run_in_process(const std::string& manifest, const std::vector<std::string>& sets, const std::string& out) {
    PipelineRun run;
    run.manifest = manifest;
    run.sets = sets;
    run.out = out;
    return run_in_process(run);
}

}  // namespace simbi_test
