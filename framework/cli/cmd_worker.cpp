// simbi worker --library LIB --id ID --config JSON: one simulator plugin behind the worker
// protocol on stdin and stdout (simbi_host/worker_protocol.hpp). Process isolation starts it;
// it is not meant to be run by hand.
#include <unistd.h>

#include <cstring>
#include <iostream>

#include "commands.hpp"
#include "common.hpp"
#include "simbi_host/errors.hpp"
#include "simbi_host/simulator_instance.hpp"
#include "simbi_host/worker_protocol.hpp"

namespace simbi_cli {

namespace wk = simbi::host::worker;

int cmd_worker(const Args& args) {
    po::options_description desc("options");
    std::string library, id, config = "{}";
    desc.add_options()("help,h", "show this help")("library", po::value<std::string>(&library)->required(), "the plugin library")(
        "id", po::value<std::string>(&id)->required(), "the simulator's id")("config", po::value<std::string>(&config), "its config (JSON)")(
        "allow-unsafe-plugins", "load a library other users could have replaced");
    po::positional_options_description pos;
    po::variables_map vm;
    if (!parse(args, desc, pos, vm, "simbi worker --library LIB --id ID [--config JSON]")) return 0;

    simbi::host::PluginInfo info;
    bool found = false;
    for (auto& p : simbi::host::load_plugin_library(library, vm.count("allow-unsafe-plugins") > 0))
        if (p.id == id && p.kind == SIMBI_KIND_SIMULATOR) info = p, found = true;
    if (!found) throw simbi::host::RunError(library + " holds no simulator '" + id + "'");
    simbi::host::HostServices host;
    simbi::host::SimulatorInstances sims(info, config, host, 1);
    simbi_simulator* sim = sims.for_thread(0);
    const uint64_t d = info.param_names.size(), k = info.output_dim;
    wk::Handshake h;
    h.theta_dim = uint32_t(d);
    h.x_dim = uint32_t(k);
    h.names_json = simbi::host::json{{"parameters", info.param_names}}.dump();
    if (!wk::write_handshake(1, h)) return 1;
    std::vector<double> theta, x;
    std::vector<uint8_t> valid;
    for (;;) {
        uint32_t type = 0;
        if (!wk::read_exact(0, &type, sizeof type, 0) || type == wk::kShutdown) return 0;
        if (type != wk::kSimulate) throw simbi::host::RunError("worker: unknown request " + std::to_string(type));
        uint64_t head[3];
        if (!wk::read_exact(0, head, sizeof head, 0)) return 1;
        const uint64_t n = head[2];
        if (n > (uint64_t(1) << 24)) throw simbi::host::RunError("worker: a batch of " + std::to_string(n) + " rows is too large");
        theta.resize(n * d);
        x.assign(n * k, 0.0);
        valid.assign(n, 0);
        if (!wk::read_exact(0, theta.data(), theta.size() * sizeof(double), 0)) return 1;
        simbi::host::ErrorBuffer eb;
        simbi_status st = sim->simulate(sim, n, theta.data(), head[0], head[1], x.data(), valid.data(), eb.get());
        if (st == SIMBI_OK) {
            const uint32_t ok = wk::kOk;
            if (!wk::write_all(1, &ok, sizeof ok) || !wk::write_all(1, x.data(), x.size() * sizeof(double)) || !wk::write_all(1, valid.data(), n))
                return 1;
        } else {
            const std::string msg = eb.message();
            const uint32_t failed = wk::kFailed, len = uint32_t(msg.size());
            if (!wk::write_all(1, &failed, sizeof failed) || !wk::write_all(1, &len, sizeof len) || !wk::write_all(1, msg.data(), len)) return 1;
        }
    }
}

}  // namespace simbi_cli
