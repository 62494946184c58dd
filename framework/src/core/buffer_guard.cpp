#include "simbi_host/core/buffer_guard.hpp"

#include <algorithm>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <new>

#include "simbi_host/core/errors.hpp"

namespace simbi::host {

void fill_unwritten(double* values, size_t n) {
    double v;
    std::memcpy(&v, &kUnwrittenBits, sizeof v);
    std::fill_n(values, n, v);
}

bool is_unwritten(double value) {
    uint64_t bits;
    std::memcpy(&bits, &value, sizeof bits);
    return bits == kUnwrittenBits;
}

namespace {

constexpr uint64_t kGuardBits = 0x7ff4dead5eedf00dull;  // a NaN with a payload no arithmetic produces
constexpr int kSlots = 512;
constexpr size_t kText = 240;

// What the signal handler reads: fixed storage, no allocation, no locks.
struct Slot {
    std::atomic<bool> used{false};
    std::atomic<uintptr_t> low_guard{0}, high_guard{0};  // start of each guard page
    std::atomic<uint64_t> first{0}, last{0};
    char text[kText];
};
Slot g_slots[kSlots];

size_t page_size() {
    static const size_t p = size_t(::sysconf(_SC_PAGESIZE));
    return p;
}

int claim_slot() {
    for (int i = 0; i < kSlots; ++i) {
        bool expected = false;
        if (g_slots[i].used.compare_exchange_strong(expected, true)) return i;
    }
    return -1;  // more live buffers than slots: faults are still caught, only less clearly named
}

}  // namespace

GuardedBuffer::~GuardedBuffer() { release(); }

void GuardedBuffer::release() {
    if (slot_ >= 0) {
        g_slots[slot_].low_guard = 0;
        g_slots[slot_].high_guard = 0;
        g_slots[slot_].used = false;
        slot_ = -1;
    }
    if (map_) ::munmap(map_, map_bytes_);
    map_ = nullptr;
    map_bytes_ = capacity_ = 0;
}

double* GuardedBuffer::reserve(size_t n) {
    const size_t page = page_size();
    if (!map_ || n > capacity_) {
        release();
        const size_t body = ((n * sizeof(double) + page - 1) / page) * page + (n == 0 ? page : 0);
        map_bytes_ = body + 2 * page;
        void* m = ::mmap(nullptr, map_bytes_, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED) {
            map_ = nullptr;
            throw std::bad_alloc();
        }
        map_ = static_cast<char*>(m);
        if (::mprotect(map_ + page, body, PROT_READ | PROT_WRITE) != 0) {
            release();
            throw std::bad_alloc();
        }
        capacity_ = body / sizeof(double);
        slot_ = claim_slot();
        if (slot_ >= 0) {
            std::memcpy(g_slots[slot_].text, text_.c_str(), text_.size() + 1);
            g_slots[slot_].first = first_;
            g_slots[slot_].last = last_;
            g_slots[slot_].low_guard = uintptr_t(map_);
            g_slots[slot_].high_guard = uintptr_t(map_ + page + body);
        }
    }
    n_ = n;
    char* end = map_ + map_bytes_ - page;
    data_ = reinterpret_cast<double*>(end) - n;
    for (double* p = reinterpret_cast<double*>(map_ + page); p < data_; ++p) std::memcpy(p, &kGuardBits, sizeof kGuardBits);
    return data_;
}

void GuardedBuffer::describe(const std::string& text) {
    text_ = text.substr(0, kText - 1);
    if (slot_ < 0) return;
    std::memcpy(g_slots[slot_].text, text_.c_str(), text_.size() + 1);
}

void GuardedBuffer::set_rows(uint64_t first, uint64_t last) {
    first_ = first;
    last_ = last;
    if (slot_ < 0) return;
    g_slots[slot_].first.store(first, std::memory_order_relaxed);
    g_slots[slot_].last.store(last, std::memory_order_relaxed);
}

bool GuardedBuffer::front_intact() const {
    for (const double* p = reinterpret_cast<const double*>(map_ + page_size()); p < data_; ++p)
        if (std::memcmp(p, &kGuardBits, sizeof kGuardBits) != 0) return false;
    return true;
}

bool describe_guard_fault(const void* address, char* out, size_t size) {
    const uintptr_t a = uintptr_t(address);
    const size_t page = page_size();
    for (Slot& s : g_slots) {
        if (!s.used.load()) continue;
        const uintptr_t lo = s.low_guard.load(), hi = s.high_guard.load();
        if (!((lo && a >= lo && a < lo + page) || (hi && a >= hi && a < hi + page))) continue;
        // The text, with "%R" as "first..last", formatted without allocating.
        size_t i = 0;
        auto put = [&](char c) {
            if (i + 1 < size) out[i++] = c;
        };
        auto put_number = [&](uint64_t v) {
            char digits[24];
            int n = 0;
            do {
                digits[n++] = char('0' + v % 10);
                v /= 10;
            } while (v);
            while (n) put(digits[--n]);
        };
        for (size_t j = 0; j < kText && s.text[j]; ++j) {
            if (s.text[j] == '%' && s.text[j + 1] == 'R') {
                put_number(s.first.load());
                put('.');
                put('.');
                put_number(s.last.load());
                ++j;
            } else {
                put(s.text[j]);
            }
        }
        out[i] = '\0';
        return true;
    }
    return false;
}

std::vector<double> guarded_output(const std::string& what, uint64_t n, const std::function<simbi_status(double*)>& call,
                                   const std::function<void(simbi_status)>& fail) {
    GuardedBuffer out;
    out.describe(what);
    out.set_rows(0, n ? n - 1 : 0);
    out.reserve(n);
    const simbi_status st = call(out.data());
    if (st != SIMBI_OK) fail(st);
    if (!out.front_intact()) throw RunError(what);
    return std::vector<double>(out.data(), out.data() + n);
}

}  // namespace simbi::host
