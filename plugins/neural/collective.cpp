// Collective operations of a data-parallel training (collective.hpp) on c10d's Gloo process group.
#define USE_C10D_GLOO 1
#include "collective.hpp"

#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

namespace simbi::nn {

struct Collective::Group {
    c10::intrusive_ptr<c10d::ProcessGroupGloo> group;
};

Collective::Collective(uint32_t rank, uint32_t size, const std::string& rendezvous, double timeout_s) : rank_(rank), size_(size) {
    if (size <= 1) return;
    const size_t colon = rendezvous.rfind(':');
    if (colon == std::string::npos || colon == 0) throw std::runtime_error("rendezvous '" + rendezvous + "' is not HOST:PORT");
    const std::string host = rendezvous.substr(0, colon);
    const int port = std::stoi(rendezvous.substr(colon + 1));
    const auto timeout = std::chrono::milliseconds(int64_t(timeout_s * 1000));
    try {
        c10d::TCPStoreOptions opts;
        opts.port = uint16_t(port);
        opts.isServer = rank == 0;
        opts.numWorkers = size;
        opts.waitWorkers = true;
        opts.timeout = timeout;
        auto store = c10::make_intrusive<c10d::TCPStore>(host, opts);
        auto options = c10d::ProcessGroupGloo::Options::create(timeout);
        // On one machine the ranks talk over the loopback; across machines each binds its own
        // hostname's interface.
        const bool loopback = host == "localhost" || host.rfind("127.", 0) == 0;
        options->devices.push_back(loopback ? c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1")
                                            : c10d::ProcessGroupGloo::createDefaultDevice());
        group_ = std::make_unique<Group>();
        group_->group = c10::make_intrusive<c10d::ProcessGroupGloo>(store, int(rank), int(size), options);
    } catch (const std::exception& e) {
        throw std::runtime_error("rank " + std::to_string(rank) + " of " + std::to_string(size) + " could not meet the others at " +
                                 rendezvous + " within " + std::to_string(int(timeout_s)) + " s: " + std::string(e.what()).substr(0, 300));
    }
}

Collective::Collective() = default;
Collective::~Collective() = default;
Collective::Collective(Collective&&) noexcept = default;
Collective& Collective::operator=(Collective&&) noexcept = default;

void Collective::all_reduce_sum(Tensor& t) const {
    if (!group_) return;
    std::vector<Tensor> v{t};
    group_->group->allreduce(v)->wait();
}

void Collective::broadcast(Tensor& t) const {
    if (!group_) return;
    std::vector<Tensor> v{t};
    group_->group->broadcast(v)->wait();
}

}  // namespace simbi::nn
