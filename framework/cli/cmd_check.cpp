// simbi plugins check LIBRARY|BRIDGE.json [--json]: the conformance checks on one plugin file, for an
// author's CI. Exit code 0 when every check passes, 1 otherwise.
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <functional>
#include <iostream>

#include "commands.hpp"
#include "common.hpp"
#include "simbi_host/core/buffer_guard.hpp"
#include "simbi_host/core/errors.hpp"
#include "simbi_host/plugins/host_services.hpp"
#include "simbi_host/plugins/plugin_scan.hpp"
#include "simbi_host/core/prior.hpp"
#include "simbi_host/pipeline/plan.hpp"
#include "simbi_host/pipeline/simulate_stage.hpp"
#include "simbi_host/pipeline/simulation_engine.hpp"
#include "simbi_host/plugins/simulator_instance.hpp"

namespace simbi_cli {

using simbi::host::json;

namespace {

struct Report {
    json checks = json::array();
    int passed = 0, failed = 0;
    void add(const std::string& plugin, const std::string& check, bool ok, const std::string& detail) {
        checks.push_back({{"plugin", plugin}, {"check", check}, {"ok", ok}, {"detail", detail}});
        ++(ok ? passed : failed);
    }
    // Runs f; an exception is a failed check with its message.
    template <class F>
    void run(const std::string& plugin, const std::string& check, F f) {
        try {
            std::string detail = f();
            add(plugin, check, true, detail);
        } catch (const std::exception& e) {
            add(plugin, check, false, e.what());
        }
    }
    // Runs f in a child process: a plugin that crashes, exits or overruns a buffer fails the
    // check, with what it printed, and the checker goes on.
    void run_in_child(const std::string& plugin, const std::string& check, const std::function<std::string()>& f) {
        int result[2], err[2];
        if (::pipe(result) != 0 || ::pipe(err) != 0) throw simbi::host::RunError("cannot create a pipe");
        std::fflush(nullptr);
        const pid_t pid = ::fork();
        if (pid < 0) throw simbi::host::RunError("cannot fork a check");
        if (pid == 0) {
            ::close(result[0]);
            ::close(err[0]);
            ::dup2(err[1], 2);
            json outcome;
            try {
                outcome = {{"ok", true}, {"detail", f()}};
            } catch (const std::exception& e) {
                outcome = {{"ok", false}, {"detail", e.what()}};
            }
            const std::string text = outcome.dump();
            (void)!::write(result[1], text.data(), text.size());
            ::_exit(0);
        }
        ::close(result[1]);
        ::close(err[1]);
        auto drain = [](int fd) {
            std::string s;
            char buf[4096];
            for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) s.append(buf, size_t(n));
            ::close(fd);
            return s;
        };
        const std::string stderr_text = drain(err[0]), text = drain(result[0]);
        int status = 0;
        ::waitpid(pid, &status, 0);
        try {
            const json outcome = json::parse(text);
            add(plugin, check, outcome.at("ok").get<bool>(), outcome.at("detail").get<std::string>());
        } catch (const std::exception&) {
            std::string why = WIFSIGNALED(status)
                                  ? "the plugin crashed (" + std::string(strsignal(WTERMSIG(status))) + ")"
                                  : "the plugin ended the process (exit status " + std::to_string(WEXITSTATUS(status)) + ")";
            std::string trimmed = stderr_text;
            while (!trimmed.empty() && (trimmed.back() == '\n' || trimmed.back() == '\r')) trimmed.pop_back();
            std::string said = simbi::host::printable(trimmed);
            if (said.size() > 600) said = said.substr(said.size() - 600);
            add(plugin, check, false, why + (said.empty() ? "" : ": " + said));
        }
    }
};

void check_bad_config(Report& report, const simbi::host::PluginInfo& p, const simbi::host::HostServices& host) {
    report.run(p.id, "bad config", [&] {
        const simbi_factory* f = simbi::host::plugin_factory(p);
        char buf[512] = {0};
        simbi_error err{sizeof(simbi_error), SIMBI_OK, 0, buf, sizeof buf};
        void* obj = f->create(f, host.c_host(), p.id.c_str(), R"({"no_such_key_zzz": 1})", &err);
        if (obj) throw std::runtime_error("create() accepted the unknown config key 'no_such_key_zzz'");
        if (err.status == SIMBI_OK || !buf[0]) throw std::runtime_error("create() failed without an error status and message");
        return std::string("an unknown key is refused: ") + buf;
    });
}

void check_simulator(Report& report, const simbi::host::PluginInfo& p, const simbi::host::HostServices& host) {
    using namespace simbi::host;
    const uint64_t d = p.param_names.size(), k = p.output_dim;
    report.run_in_child(p.id, "n = 0", [&] {
        SimulatorInstances sims(p, "{}", host, 1);
        simbi_simulator* s = sims.for_thread(0);
        ErrorBuffer eb;
        double theta = 0, x = 0;
        uint8_t valid = 0;
        simbi_status st = s->simulate(s, 0, &theta, 1, 0, &x, &valid, eb.get());
        if (st != SIMBI_OK) throw std::runtime_error("simulate(n = 0) returned " + std::string(status_name(st)) + ": " + eb.message());
        return std::string("returns ok");
    });
    if (p.default_prior_json.empty()) {
        report.add(p.id, "determinism", false, "no default prior to draw theta from; declare one in the descriptor");
        return;
    }
    std::unique_ptr<Prior> prior = parse_prior_json(p.default_prior_json, "default prior of '" + p.id + "'");
    report.run_in_child(p.id, "valid flags", [&] {
        SimulatorInstances sims(p, "{}", host, 1);
        simbi_simulator* s = sims.for_thread(0);
        const uint64_t n = 64;
        std::vector<double> theta(n * d);
        GuardedBuffer x;
        x.describe("simulator '" + p.id + "' wrote outside its output buffer (" + std::to_string(k) + " outputs per row) at rows %R");
        x.set_rows(0, n - 1);
        fill_unwritten(x.reserve(n * k), n * k);
        prior->sample_rows(n, 3, 0, theta.data());
        std::vector<uint8_t> valid(n, 7);
        ErrorBuffer eb;
        simbi_status st = s->simulate(s, n, theta.data(), 1, 0, x.data(), valid.data(), eb.get());
        if (st != SIMBI_OK && st != SIMBI_DISCARD)
            throw std::runtime_error("simulate returned " + std::string(status_name(st)) + ": " + eb.message());
        for (uint64_t i = 0; st == SIMBI_OK && i < n; ++i)
            if (valid[i] > 1)
                throw std::runtime_error("valid[" + std::to_string(i) + "] was left at " + std::to_string(valid[i]) + ", not 0 or 1");
        for (uint64_t i = 0; st == SIMBI_OK && i < n; ++i)
            for (uint64_t j = 0; valid[i] && j < k; ++j)
                if (is_unwritten(x.data()[i * k + j]))
                    throw std::runtime_error("output " + std::to_string(j) + " of " + std::to_string(k) + " was left unwritten at row " +
                                             std::to_string(i) + ", which is flagged valid");
        return std::string("every row's flag is written 0 or 1, and every output of a valid row is written");
    });
    report.run_in_child(p.id, "determinism and buffers", [&] {
        // The same rows whatever the batch size or thread count; the engine's guards catch writes
        // into theta or past the declared outputs.
        std::vector<double> first;
        for (auto [threads, batch] : {std::pair<unsigned, uint64_t>{1, 1}, {1, 7}, {2, 64}, {2, 1000}}) {
            SimulatorInstances sims(p, "{}", host, threads);
            EngineOptions eo;
            eo.seed = 11;
            eo.threads = threads;
            eo.batch_rows = batch;
            eo.invalid = InvalidPolicy::Drop;
            SimulationEngine engine(*prior, sims, eo);
            ChunkRows rows = engine.run(0, 1000);
            std::vector<double> all = rows.theta;
            all.insert(all.end(), rows.x.begin(), rows.x.end());
            if (first.empty())
                first = all;
            else if (all.size() != first.size() || std::memcmp(all.data(), first.data(), all.size() * 8) != 0)
                throw std::runtime_error("1000 rows differ between batch size 1 on one thread and batch size " + std::to_string(batch) +
                                         " on " + std::to_string(threads) + " threads: a row must depend on (seed, row index) only");
        }
        return std::string("1000 rows identical across batch sizes 1, 7, 64, 1000 and 1 or 2 threads; theta untouched, no write past ") +
               std::to_string(k) + " outputs";
    });
}

// A process bridge: its rows depend on (seed, row) only, whatever the batch size or number of
// workers, and every output of a valid row is written.
void check_bridge(Report& report, const simbi::host::PluginInfo& p, const simbi::host::HostServices& host) {
    using namespace simbi::host;
    report.run(p.id, "determinism", [&] {
        if (p.default_prior_json.empty()) throw std::runtime_error("no prior to draw theta from; declare one in the definition");
        SimulationPart part;
        part.simulator.info = &p;
        part.simulator.sha256 = p.sha256();
        part.prior = parse_prior_json(p.default_prior_json, "prior of '" + p.id + "'");
        part.settings.timeout_s = 60;
        std::vector<double> first;
        for (auto [threads, batch] : {std::pair<unsigned, uint64_t>{1, 1}, {1, 7}, {2, 50}}) {
            std::unique_ptr<SimulatorInstances> sims = make_simulators(part, host, threads, true);
            EngineOptions eo;
            eo.seed = 11;
            eo.threads = threads;
            eo.batch_rows = batch;
            eo.invalid = InvalidPolicy::Drop;
            SimulationEngine engine(*part.prior, *sims, eo);
            ChunkRows rows = engine.run(0, 100);
            if (engine.unwritten_rows() > 0) throw std::runtime_error("an output of a valid row was left unwritten");
            std::vector<double> all = rows.theta;
            all.insert(all.end(), rows.x.begin(), rows.x.end());
            if (first.empty())
                first = all;
            else if (all.size() != first.size() || std::memcmp(all.data(), first.data(), all.size() * 8) != 0)
                throw std::runtime_error("100 rows differ between batch size 1 in one worker and batch size " + std::to_string(batch) +
                                         " in " + std::to_string(threads) + " workers: a row must depend on (seed, row index) only");
        }
        return std::string("100 rows identical across batch sizes 1, 7, 50 and 1 or 2 workers");
    });
}

}  // namespace

int cmd_check(const Args& args) {
    po::options_description desc("options");
    std::string lib;
    bool allow_unsafe = false;
    desc.add_options()("help,h", "show this help")("library", po::value<std::string>(&lib)->required(),
                                                   "plugin library (.so) or process bridge (.bridge.json)")("json", "print JSON")(
        "allow-unsafe-plugins", po::bool_switch(&allow_unsafe), "check it even if other users could have replaced it");
    po::positional_options_description pos;
    pos.add("library", 1);
    po::variables_map vm;
    if (!parse(args, desc, pos, vm, "simbi plugins check LIBRARY [--json]")) return 0;
    Report report;
    std::vector<simbi::host::PluginInfo> plugins;
    report.run(std::filesystem::path(lib).filename().string(), "describe", [&] {
        const std::string name = std::filesystem::path(lib).filename().string();
        const bool bridge = name.size() > 12 && name.compare(name.size() - 12, 12, ".bridge.json") == 0;
        if (bridge)
            plugins = {simbi::host::read_bridge_definition(lib, allow_unsafe)};
        else
            plugins = simbi::host::scan_library(lib, allow_unsafe);  // in a child process: a crash is reported
        if (plugins.empty()) throw std::runtime_error("the library offers no plugin");
        return std::to_string(plugins.size()) + " plugin(s), descriptors valid";
    });
    simbi::host::HostServices host;
    host.set_quiet(true);
    for (const auto& p : plugins) {
        if (!p.bridge_command.empty()) {
            check_bridge(report, p, host);
            continue;
        }
        check_bad_config(report, p, host);
        if (p.kind == SIMBI_KIND_SIMULATOR) check_simulator(report, p, host);
    }
    if (vm.count("json")) {
        std::cout << json{{"library", lib}, {"checks", report.checks}, {"passed", report.passed}, {"failed", report.failed}}.dump(2)
                  << "\n";
    } else {
        for (const auto& c : report.checks)
            std::cout << (c["ok"].get<bool>() ? "ok    " : "FAIL  ") << c["plugin"].get<std::string>() << ": "
                      << c["check"].get<std::string>() << ": " << c["detail"].get<std::string>() << "\n";
        std::cout << report.passed << " passed, " << report.failed << " failed\n";
    }
    return report.failed ? simbi::host::kExitRunFailed : 0;
}

}  // namespace simbi_cli
