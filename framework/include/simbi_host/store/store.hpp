// The dataset store.
//
// While simulating, chunks go to an append-only journal beside the target (<store>.journal), each
// record checksummed, so a run killed at any instant loses at most the chunk in flight. Running
// the same command again resumes after the last complete record. When every chunk is in, the
// journal is sealed into the HDF5 file (<store>.tmp, then an atomic rename), so the HDF5 file
// that exists is always complete and identical to what an uninterrupted run writes.
//
// HDF5 layout, readable by h5py without simbi:
//   /theta [n, d], /x [n, k]  float32 (default) or float64
//   attributes on /: parameter_names, x_dim, rows, simulator_id, simulator_version,
//   simulator_sha256, simulator_config, prior, seed, budget, invalid_policy, n_simulated,
//   n_invalid, n_resampled, n_dropped, dtype, manifest, simbi_version, fingerprint, and
//   theta_sha256 / x_sha256: SHA-256 of each dataset's bytes as stored (little-endian, row-major).
//   The first 512 bytes (an HDF5 user block, which h5py skips) hold "SIMBI-STORE 1", the SHA-256
//   of every byte after them and the fingerprint: readers check the whole file before HDF5
//   parses any of it.
#pragma once
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "simbi_host/core/json_reader.hpp"

namespace simbi::host {

// The rows of one chunk after the invalid-row policy: what a journal record holds.
struct ChunkRows {
    std::vector<double> theta, x;  // kept rows, row-major
    uint64_t attempted = 0;        // rows asked for
    uint64_t kept = 0;
    uint64_t invalid = 0;    // invalid simulations seen (all attempts)
    uint64_t resampled = 0;  // rows that needed at least one new draw
};

// What defines a dataset's content. Two runs with equal metadata write identical files.
struct StoreMeta {
    std::vector<std::string> parameter_names;
    uint64_t x_dim = 0;
    std::string simulator_id, simulator_version, simulator_sha256, simulator_config;
    std::string prior_json;
    uint64_t seed = 0, budget = 0, chunk_rows = 16384;
    std::string invalid_policy = "drop";
    bool float64 = false;
    std::string manifest_json;  // for the record; not part of the fingerprint

    std::string fingerprint() const;  // SHA-256 of the content-defining fields
    std::string family() const;       // the same, budget aside: stores whose rows extend one another
};

struct StoreTotals {
    uint64_t simulated = 0, kept = 0, invalid = 0, resampled = 0;
};

// The journal of one run: opens or resumes, appends chunks.
class Journal {
public:
    // Opens <path>; resumes if it holds the same fingerprint, else starts it afresh. shard: ""
    // for the store's own journal, or "r/N" for rank r's share of N (its records are the chunks
    // r, r + N, ..., numbered 0, 1, ... in the shard).
    Journal(std::string path, const StoreMeta& meta, const std::string& shard = "");
    ~Journal();
    uint64_t chunks_done() const { return chunks_; }
    const StoreTotals& totals() const { return totals_; }
    bool resumed() const { return resumed_; }
    void append(uint64_t chunk_index, const ChunkRows& rows);
    const std::string& path() const { return path_; }

    // Reads every record in order; calls f(theta, x, kept rows) for each.
    void for_each(const std::function<void(const double*, const double*, uint64_t)>& f) const;

private:
    void read_existing(const std::string& header);
    std::string path_;
    int fd_ = -1;
    uint64_t d_, k_, chunks_ = 0;
    StoreTotals totals_;
    bool resumed_ = false;
    std::string header_;
};

// Reads a journal's complete records in order, without changing the file (another process may be
// appending to it). shard as for Journal.
class JournalReader {
public:
    JournalReader(std::string path, const StoreMeta& meta, const std::string& shard = "");
    ~JournalReader();
    JournalReader(const JournalReader&) = delete;
    JournalReader& operator=(const JournalReader&) = delete;
    // The next whole record into rows; false at the end of the complete ones.
    bool next(ChunkRows& rows);
    // Complete records from the start, counted without keeping them.
    static uint64_t count(const std::string& path, const StoreMeta& meta, const std::string& shard = "");

private:
    std::string path_;
    std::FILE* f_ = nullptr;
    uint64_t d_, k_, index_ = 0;
};

// Writes the HDF5 file from a complete journal, atomically.
void seal_store(const Journal& journal, const std::string& store_path, const StoreMeta& meta);

// The fingerprint attribute of an existing store, or "" if there is none or it is unreadable.
std::string store_fingerprint(const std::string& store_path);
// A sealed store's header (the HDF5 user block): the SHA-256 of the rest of the file and the
// setup's fingerprint. ok is false when the file has none.
struct StoreHeader {
    bool ok = false;
    std::string sha256, fingerprint;
    std::string family;                // stores of one setup but their budget share it ("" before it was recorded)
    uint64_t budget = 0, invalid = 0;  // as sealed
};
StoreHeader read_store_header(const std::string& path);
// Checks every byte of a sealed store against its header before any HDF5 call reads it; throws
// RunError naming the file.
void check_store_file(const std::string& path);

// The fingerprint in a journal's header; "" if there is no file, "corrupt" if it is unreadable.
std::string journal_fingerprint(const std::string& journal_path);

// Reading a sealed store.
class DatasetReader {
public:
    // Checks the whole file against its checksum, opens it and checks that /theta and /x are 2-D
    // float arrays of equal rows; throws RunError if not. verify() checks the rest.
    explicit DatasetReader(const std::string& path);
    ~DatasetReader();
    // Checks the shapes against the metadata and, with datasets, each dataset against its own
    // SHA-256 too (the constructor has checked every byte already); throws RunError naming what
    // differs.
    void verify(bool datasets = false) const;
    // The data's checksum, "<theta sha256>:<x sha256>", from the metadata (verify() first).
    std::string checksum() const;
    DatasetReader(const DatasetReader&) = delete;
    DatasetReader& operator=(const DatasetReader&) = delete;
    uint64_t rows() const { return rows_; }
    uint64_t theta_dim() const { return d_; }
    uint64_t x_dim() const { return k_; }
    // Rows [start, start + count) as float64; x may be null (theta alone).
    void read(uint64_t start, uint64_t count, double* theta, double* x) const;
    // Attributes as JSON: strings, numbers and string arrays.
    json attributes() const;
    std::string dtype() const { return dtype_; }

private:
    void read_block(long long ds, uint64_t start, uint64_t count, uint64_t cols, long long mem_type, void* out) const;
    void read_file_type(uint64_t start, uint64_t count, std::vector<char>& theta, std::vector<char>& x) const;
    struct Handles;  // the open HDF5 file and datasets
    std::unique_ptr<Handles> h_;
    uint64_t rows_ = 0, d_ = 0, k_ = 0;
    std::string path_, dtype_;
    json attributes_;
};

}  // namespace simbi::host
