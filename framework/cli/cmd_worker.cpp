// simbi worker --library LIB --id ID --sha256 HEX --config JSON: one simulator plugin behind the
// worker protocol on stdin and stdout (simbi_host/worker_protocol.hpp). Process isolation starts
// it with the SHA-256 the run planned with, and it refuses a library of other bytes; it is not
// meant to be run by hand.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <iostream>

#include "commands.hpp"
#include "common.hpp"
#include "simbi_host/core/buffer_guard.hpp"
#include "simbi_host/core/errors.hpp"
#include "simbi_host/plugins/simulator_instance.hpp"
#include "simbi_host/plugins/worker_protocol.hpp"

namespace simbi_cli {

namespace wk = simbi::host::worker;

int cmd_worker(const Args& args) {
    po::options_description desc("options");
    std::string library, id, config = "{}", sha256;
    desc.add_options()("help,h", "show this help")("library", po::value<std::string>(&library)->required(), "the plugin library")(
        "id", po::value<std::string>(&id)->required(), "the simulator's id")("sha256", po::value<std::string>(&sha256)->required(),
                                                                             "the SHA-256 the library must have")(
        "config", po::value<std::string>(&config), "its config (JSON)")("allow-unsafe-plugins",
                                                                        "load a library other users could have replaced");
    po::positional_options_description pos;
    po::variables_map vm;
    if (!parse(args, desc, pos, vm, "simbi worker --library LIB --id ID --sha256 HEX [--config JSON]")) return 0;

    simbi::host::PluginInfo info;
    bool found = false;
    for (auto& p : simbi::host::load_plugin_library(library, vm.count("allow-unsafe-plugins") > 0, sha256))
        if (p.id == id && p.kind == SIMBI_KIND_SIMULATOR) info = p, found = true;
    if (!found) throw simbi::host::RunError(library + " holds no simulator '" + id + "'");
    // The protocol gets stdin and stdout of its own: what the plugin prints goes to stderr, and
    // what it reads is nothing.
    const int in = ::dup(0), out = ::dup(1);
    const int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (in < 0 || out < 0 || null < 0 || ::dup2(2, 1) < 0 || ::dup2(null, 0) < 0)
        throw simbi::host::RunError("worker: cannot set up its channels");
    simbi::host::HostServices host;
    simbi::host::SimulatorInstances sims(info, config, host, 1);
    simbi_simulator* sim = sims.for_thread(0);
    const uint64_t d = info.param_names.size(), k = info.output_dim;
    wk::Handshake h;
    h.theta_dim = uint32_t(d);
    h.x_dim = uint32_t(k);
    h.names_json = simbi::host::json{{"parameters", info.param_names}}.dump();
    if (!wk::write_handshake(out, h)) return 1;
    std::vector<double> theta;
    std::vector<uint8_t> valid;
    // x between guard pages, as in process: an overrun ends this worker with the rows named.
    simbi::host::GuardedBuffer x;
    x.describe("simulator '" + id + "' wrote outside its output buffer (" + std::to_string(k) + " outputs per row) at rows %R");
    char head[wk::kRequestHeadBytes], answer[wk::kAnswerHeadBytes];
    for (;;) {
        uint32_t type = 0;
        if (!wk::read_all(in, &type, sizeof type) || type == wk::kShutdown) return 0;
        if (type != wk::kSimulate) throw simbi::host::RunError("worker: unknown request " + std::to_string(type));
        if (!wk::read_all(in, head + 4, sizeof head - 4)) return 1;
        uint64_t sequence, seed, first, n;
        std::memcpy(&sequence, head + 4, 8);
        std::memcpy(&seed, head + 12, 8);
        std::memcpy(&first, head + 20, 8);
        std::memcpy(&n, head + 28, 8);
        if (n > (uint64_t(1) << 24)) throw simbi::host::RunError("worker: a batch of " + std::to_string(n) + " rows is too large");
        theta.resize(n * d);
        simbi::host::fill_unwritten(x.reserve(n * k), n * k);  // the host finds what the plugin left unwritten
        x.set_rows(first, first + n - 1);
        valid.assign(n, 0);
        if (!wk::read_all(in, theta.data(), theta.size() * sizeof(double))) return 1;
        simbi::host::ErrorBuffer eb;
        simbi_status st = sim->simulate(sim, n, theta.data(), seed, first, x.data(), valid.data(), eb.get());
        if (st == SIMBI_OK && !x.front_intact()) st = simbi_error_set(eb.get(), SIMBI_ERROR, "wrote before its output buffer");
        if (st == SIMBI_OK) {
            wk::encode_answer({wk::kOk, sequence, n * k * sizeof(double) + n}, answer);
            if (!wk::write_all(out, answer, sizeof answer) || !wk::write_all(out, x.data(), n * k * sizeof(double)) ||
                !wk::write_all(out, valid.data(), n))
                return 1;
        } else {
            const std::string msg = eb.message();
            wk::encode_answer({wk::kFailed, sequence, msg.size()}, answer);
            if (!wk::write_all(out, answer, sizeof answer) || !wk::write_all(out, msg.data(), msg.size())) return 1;
        }
    }
}

}  // namespace simbi_cli
