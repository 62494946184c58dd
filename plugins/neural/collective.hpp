// The ranks of a data-parallel training and their collective operations, over torch's c10d
// ProcessGroupGloo (kept out of this header: it pulls in gloo's).
#pragma once
#include <memory>
#include <string>

#include "util.hpp"

namespace simbi::nn {

class Collective {
public:
    // Alone: rank 0 of 1, every operation a no-op.
    Collective();
    // Rank `rank` of `size`, meeting at rendezvous "host:port" where rank 0 listens; waits up to
    // timeout_s for every rank to arrive. Throws std::runtime_error naming the address.
    Collective(uint32_t rank, uint32_t size, const std::string& rendezvous, double timeout_s);
    ~Collective();
    Collective(Collective&&) noexcept;
    Collective& operator=(Collective&&) noexcept;

    uint32_t rank() const { return rank_; }
    uint32_t size() const { return size_; }
    // In place: the elementwise sum over the ranks, identical on every rank.
    void all_reduce_sum(Tensor& t) const;
    // In place: rank 0's values on every rank.
    void broadcast(Tensor& t) const;

private:
    struct Group;
    uint32_t rank_ = 0, size_ = 1;
    std::unique_ptr<Group> group_;
};

}  // namespace simbi::nn
