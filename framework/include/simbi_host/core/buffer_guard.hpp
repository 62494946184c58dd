// Output buffers between guard pages. A plugin writes its results into a buffer whose last value
// abuts a page the process may not touch (mprotect PROT_NONE), with another such page before it:
// a write one value past the end, or a megabyte past it, faults at once, before it can damage
// anything, and the fault handler prints what the buffer was for ("simulator 'x' at rows 0..63")
// and ends the process with exit code 1. The few bytes between the first page and the first value
// hold guard values, checked after each call.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <simbi/types.h>

namespace simbi::host {

// Output values a plugin left unwritten: every output buffer is filled with this quiet NaN, whose
// payload no arithmetic produces, before the call, and any value still equal to it bit for bit
// after the call was never written.
constexpr uint64_t kUnwrittenBits = 0x7ff8'5349'4d42'4921ULL;  // NaN with payload "SIMBI!"
void fill_unwritten(double* values, size_t n);
bool is_unwritten(double value);

class GuardedBuffer {
public:
    GuardedBuffer() = default;
    ~GuardedBuffer();
    GuardedBuffer(const GuardedBuffer&) = delete;
    GuardedBuffer& operator=(const GuardedBuffer&) = delete;

    // Room for exactly n values, ending at the guard page; the contents are unspecified. Reuses
    // the mapping while it is large enough.
    double* reserve(size_t n);
    double* data() const { return data_; }
    size_t size() const { return n_; }
    // What a fault on this buffer's guard pages means, printed by the fault handler, e.g.
    // "simulator 'x' wrote outside its output buffer at rows %R"; "%R" stands for the rows that
    // set_rows() names. Set it once; set_rows() is two stores, cheap before every call.
    void describe(const std::string& text);
    void set_rows(uint64_t first, uint64_t last);
    // True if nothing was written before the first value (in the slack the guard page leaves).
    bool front_intact() const;

private:
    void release();
    char* map_ = nullptr;
    size_t map_bytes_ = 0, capacity_ = 0, n_ = 0;
    double* data_ = nullptr;
    int slot_ = -1;
    std::string text_;
    uint64_t first_ = 0, last_ = 0;
};

// n values written by a plugin's call into a guarded buffer: call(out) returns the plugin's
// status, fail(status) throws for any but SIMBI_OK; a write before the buffer throws RunError(what)
// and one past it faults, described by `what`.
std::vector<double> guarded_output(const std::string& what, uint64_t n, const std::function<simbi_status(double*)>& call,
                                   const std::function<void(simbi_status)>& fail);

// For the fault handler: if `address` lies on a live buffer's guard page, writes its description
// into out (NUL-terminated, at most size bytes) and returns true. Async-signal-safe.
bool describe_guard_fault(const void* address, char* out, size_t size);

}  // namespace simbi::host
