#include "simbi_host/store/store.hpp"

#include <fcntl.h>
#include <hdf5.h>
#include <simbi/version.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <algorithm>
#include <filesystem>

#include "simbi_host/core/errors.hpp"
#include "simbi_host/core/safe_files.hpp"
#include "simbi_host/core/sha256.hpp"
#include "hdf5_io.hpp"

namespace fs = std::filesystem;

namespace simbi::host {
namespace {

const char kMagic[8] = {'S', 'I', 'M', 'B', 'I', 'J', '0', '1'};
const uint64_t kRecordTag = 0x4b4e554843494d53ull;  // "SMICHUNK"

uint64_t fnv1a(const void* data, size_t n, uint64_t h = 1469598103934665603ull) {
    const uint8_t* p = static_cast<const uint8_t*>(data);
    for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

void write_all(int fd, const void* data, size_t n, const std::string& path) {
    const char* p = static_cast<const char*>(data);
    while (n > 0) {
        ssize_t w = ::write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            throw RunError("cannot write " + path + ": " + std::strerror(errno));
        }
        p += w;
        n -= size_t(w);
    }
}

// The header record of a journal file; false if the file is unreadable or not a journal.
bool read_journal_header(const std::string& path, std::string& header) {
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) return false;
    char magic[8];
    uint64_t len = 0;
    bool ok = std::fread(magic, 1, 8, f) == 8 && std::memcmp(magic, kMagic, 8) == 0 && std::fread(&len, 8, 1, f) == 1 && len < (1u << 20);
    if (ok) {
        header.resize(len);
        ok = std::fread(&header[0], 1, len, f) == len;
    }
    std::fclose(f);
    return ok;
}

}  // namespace

std::string StoreMeta::family() const {
    StoreMeta m = *this;
    m.budget = 0;
    return m.fingerprint();
}

std::string StoreMeta::fingerprint() const {
    json j = {{"parameter_names", parameter_names},
              {"x_dim", x_dim},
              {"simulator_id", simulator_id},
              {"simulator_version", simulator_version},
              {"simulator_sha256", simulator_sha256},
              {"simulator_config", simulator_config},
              {"prior", prior_json},
              {"seed", seed},
              {"budget", budget},
              {"chunk_rows", chunk_rows},
              {"invalid_policy", invalid_policy},
              {"float64", float64}};
    std::string s = j.dump();
    return sha256_hex(s.data(), s.size());
}

namespace {
std::string journal_header(const StoreMeta& meta, const std::string& shard) {
    json h = {{"fingerprint", meta.fingerprint()}, {"theta_dim", meta.parameter_names.size()}, {"x_dim", meta.x_dim}};
    if (!shard.empty()) h["shard"] = shard;
    return h.dump();
}
}  // namespace

Journal::Journal(std::string path, const StoreMeta& meta, const std::string& shard)
    : path_(std::move(path)), d_(meta.parameter_names.size()), k_(meta.x_dim) {
    header_ = journal_header(meta, shard);
    if (fs::exists(path_)) {
        std::string header;
        const bool ok = read_journal_header(path_, header);
        if (ok && header == header_) {
            read_existing(header);
        } else if (!ok) {
            throw RunError(path_ + " is not a readable simbi journal (" + (fs::file_size(path_) == 0 ? "zero length" : "corrupt header") +
                           "); move it away, or pass --force to start this simulation over");
        } else {
            throw RunError(path_ +
                           " holds the journal of another simulation setup; it is kept: choose another store, or pass --force to "
                           "replace it");
        }
    }
    if (!resumed_) {
        fd_ = open_no_follow(path_, O_WRONLY | O_CREAT | O_TRUNC, 0644, "the journal");
        // One write: a reader in another process sees no header or all of it.
        const uint64_t len = header_.size();
        std::string head(kMagic, 8);
        head.append(reinterpret_cast<const char*>(&len), 8);
        head += header_;
        write_all(fd_, head.data(), head.size(), path_);
    }
}

// Scans the records of an existing journal, drops a torn last record, and reopens for appending.
void Journal::read_existing(const std::string& header) {
    std::FILE* f = std::fopen(path_.c_str(), "rb");
    uint64_t good_end = 16 + header.size();
    std::fseek(f, long(good_end), SEEK_SET);
    std::vector<double> payload;
    for (;;) {
        uint64_t h[6];
        if (std::fread(h, 8, 6, f) != 6 || h[0] != kRecordTag || h[1] != chunks_) break;
        uint64_t kept = h[3];
        if (kept > h[2]) break;
        payload.resize(kept * (d_ + k_));
        if (std::fread(payload.data(), 8, payload.size(), f) != payload.size()) break;
        uint64_t sum = 0;
        if (std::fread(&sum, 8, 1, f) != 1) break;
        if (sum != fnv1a(payload.data(), payload.size() * 8, fnv1a(h, sizeof h))) break;
        ++chunks_;
        totals_.simulated += h[2];
        totals_.kept += kept;
        totals_.invalid += h[4];
        totals_.resampled += h[5];
        good_end = uint64_t(std::ftell(f));
    }
    std::fclose(f);
    fd_ = open_no_follow(path_, O_WRONLY | O_APPEND, 0, "the journal");
    if (::ftruncate(fd_, off_t(good_end)) != 0) throw RunError("cannot truncate " + path_ + ": " + std::strerror(errno));
    resumed_ = true;
}

Journal::~Journal() {
    if (fd_ >= 0) ::close(fd_);
}

void Journal::append(uint64_t chunk_index, const ChunkRows& rows) {
    if (chunk_index != chunks_) throw RunError("journal: chunk " + std::to_string(chunk_index) + " out of order");
    uint64_t h[6] = {kRecordTag, chunk_index, rows.attempted, rows.kept, rows.invalid, rows.resampled};
    uint64_t sum = fnv1a(rows.x.data(), rows.x.size() * 8, fnv1a(rows.theta.data(), rows.theta.size() * 8, fnv1a(h, sizeof h)));
    // One writev: a kill leaves a whole record or a torn tail, which resuming discards.
    struct iovec iov[4] = {{h, sizeof h},
                           {const_cast<double*>(rows.theta.data()), rows.theta.size() * 8},
                           {const_cast<double*>(rows.x.data()), rows.x.size() * 8},
                           {&sum, 8}};
    size_t total = 0;
    for (const auto& v : iov) total += v.iov_len;
    ssize_t w = ::writev(fd_, iov, 4);
    if (w < 0 || size_t(w) != total) {
        // A short write: finish it the slow way.
        size_t done = w < 0 ? 0 : size_t(w);
        std::vector<char> rec;
        for (const auto& v : iov) rec.insert(rec.end(), static_cast<char*>(v.iov_base), static_cast<char*>(v.iov_base) + v.iov_len);
        write_all(fd_, rec.data() + done, rec.size() - done, path_);
    }
    ++chunks_;
    totals_.simulated += rows.attempted;
    totals_.kept += rows.kept;
    totals_.invalid += rows.invalid;
    totals_.resampled += rows.resampled;
}

JournalReader::JournalReader(std::string path, const StoreMeta& meta, const std::string& shard)
    : path_(std::move(path)), d_(meta.parameter_names.size()), k_(meta.x_dim) {
    const std::string expected = journal_header(meta, shard);
    std::string header;
    if (!read_journal_header(path_, header) || header != expected)
        throw RunError(path_ + ": not the journal of this setup's " + (shard.empty() ? "store" : "shard " + shard));
    f_ = std::fopen(path_.c_str(), "rb");
    if (!f_) throw RunError("cannot read " + path_);
    std::fseek(f_, long(16 + header.size()), SEEK_SET);
}

JournalReader::~JournalReader() {
    if (f_) std::fclose(f_);
}

bool JournalReader::next(ChunkRows& rows) {
    uint64_t h[6], sum = 0;
    const long start = std::ftell(f_);
    auto rewind = [&] {
        std::fseek(f_, start, SEEK_SET);  // a record still being written: read it again later
        return false;
    };
    if (std::fread(h, 8, 6, f_) != 6 || h[0] != kRecordTag || h[1] != index_ || h[3] > h[2]) return rewind();
    rows.attempted = h[2];
    rows.kept = h[3];
    rows.invalid = h[4];
    rows.resampled = h[5];
    rows.theta.resize(h[3] * d_);
    rows.x.resize(h[3] * k_);
    if (std::fread(rows.theta.data(), 8, rows.theta.size(), f_) != rows.theta.size() ||
        std::fread(rows.x.data(), 8, rows.x.size(), f_) != rows.x.size() || std::fread(&sum, 8, 1, f_) != 1)
        return rewind();
    if (sum != fnv1a(rows.x.data(), rows.x.size() * 8, fnv1a(rows.theta.data(), rows.theta.size() * 8, fnv1a(h, sizeof h))))
        return rewind();
    ++index_;
    return true;
}

uint64_t JournalReader::count(const std::string& path, const StoreMeta& meta, const std::string& shard) {
    std::error_code ec;
    if (!fs::exists(path, ec)) return 0;
    try {
        JournalReader r(path, meta, shard);
        ChunkRows rows;
        uint64_t n = 0;
        while (r.next(rows)) ++n;
        return n;
    } catch (const RunError&) {
        return 0;
    }
}

void Journal::for_each(const std::function<void(const double*, const double*, uint64_t)>& f) const {
    std::FILE* in = std::fopen(path_.c_str(), "rb");
    if (!in) throw RunError("cannot read " + path_);
    std::fseek(in, long(16 + header_.size()), SEEK_SET);
    std::vector<double> payload;
    for (uint64_t c = 0; c < chunks_; ++c) {
        uint64_t h[6], sum;
        if (std::fread(h, 8, 6, in) != 6) throw RunError("journal " + path_ + " is truncated");
        payload.resize(h[3] * (d_ + k_));
        if (std::fread(payload.data(), 8, payload.size(), in) != payload.size() || std::fread(&sum, 8, 1, in) != 1)
            throw RunError("journal " + path_ + " is truncated");
        f(payload.data(), payload.data() + h[3] * d_, h[3]);
    }
    std::fclose(in);
}

namespace {

// A dataset's rows in the file's type: float32 or float64, little-endian, row-major.
struct FileRows {
    std::vector<float> f32;
    const double* f64 = nullptr;
    size_t values = 0;
    const void* data() const { return f64 ? static_cast<const void*>(f64) : f32.data(); }
    size_t bytes() const { return values * (f64 ? 8 : 4); }
};
void to_file_rows(const double* v, size_t n, bool float64, FileRows& out) {
    out.values = n;
    if (float64) {
        out.f64 = v;
        return;
    }
    out.f64 = nullptr;
    out.f32.resize(n);
    for (size_t i = 0; i < n; ++i) out.f32[i] = float(v[i]);
}

h5::Id create_rows_dataset(hid_t file, const char* name, uint64_t n, uint64_t cols, const StoreMeta& meta) {
    hsize_t dims[2] = {n, cols};
    h5::Id space(H5Screate_simple(2, dims, nullptr), &H5Sclose, std::string("dataspace ") + name);
    h5::Id dcpl(H5Pcreate(H5P_DATASET_CREATE), &H5Pclose, "dataset property list");
    H5Pset_obj_track_times(dcpl, 0);
    if (n > 0 && cols > 0) {
        // HDF5 chunks of at most about 1 MiB read well from h5py and from simbi alike.
        hsize_t cap = std::max<hsize_t>(1, (1u << 20) / (cols * (meta.float64 ? 8 : 4)));
        hsize_t chunk[2] = {std::min<hsize_t>({n, meta.chunk_rows, cap}), cols};
        H5Pset_chunk(dcpl, 2, chunk);
    }
    hid_t ftype = meta.float64 ? H5T_IEEE_F64LE : H5T_IEEE_F32LE;
    return h5::Id(H5Dcreate2(file, name, ftype, space, H5P_DEFAULT, dcpl, H5P_DEFAULT), &H5Dclose, std::string("creating /") + name);
}

void write_rows(hid_t ds, uint64_t row, uint64_t rows, uint64_t cols, const FileRows& data, bool float64, const std::string& path) {
    hsize_t start[2] = {row, 0}, count[2] = {rows, cols};
    h5::Id fspace(H5Dget_space(ds), &H5Sclose, "dataspace");
    h5::check(H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, nullptr, count, nullptr), "selecting rows");
    h5::Id mspace(H5Screate_simple(2, count, nullptr), &H5Sclose, "dataspace");
    h5::check(H5Dwrite(ds, float64 ? H5T_NATIVE_DOUBLE : H5T_NATIVE_FLOAT, mspace, fspace, H5P_DEFAULT, data.data()),
              "writing " + path + " (" + std::strerror(errno) + ")");
}

// The store's header in the HDF5 user block, which HDF5 and h5py skip: the SHA-256 of every byte
// after it, the setup's fingerprint, and (extra) its family, budget and invalid count.
constexpr hsize_t kUserBlock = 512;
const char kHeaderMagic[] = "SIMBI-STORE 1\n";

void write_store_header(const std::string& path, const std::string& fingerprint, const std::string& extra) {
    int fd = open_no_follow(path, O_RDWR, 0, "the store being sealed");
    Sha256 sum;
    std::vector<char> buf(1 << 20);
    off_t at = off_t(kUserBlock);
    for (;;) {
        ssize_t n = ::pread(fd, buf.data(), buf.size(), at);
        if (n < 0) {
            ::close(fd);
            throw RunError("cannot read " + path + ": " + std::strerror(errno));
        }
        if (n == 0) break;
        sum.update(buf.data(), size_t(n));
        at += n;
    }
    std::string header = std::string(kHeaderMagic) + "sha256 " + sum.hex() + "\nfingerprint " + fingerprint + "\n" + extra;
    header.resize(kUserBlock, '\0');
    const bool ok = ::pwrite(fd, header.data(), header.size(), 0) == ssize_t(header.size()) && ::fsync(fd) == 0;
    const int err = errno;
    ::close(fd);
    if (!ok) throw RunError("cannot write the header of " + path + ": " + std::strerror(err) + " (is the disk full?)");
}

}  // namespace

StoreHeader read_store_header(const std::string& path) {
    StoreHeader h;
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) return h;
    char block[kUserBlock];
    const bool whole = std::fread(block, 1, kUserBlock, f) == kUserBlock;
    std::fclose(f);
    if (!whole || std::memcmp(block, kHeaderMagic, sizeof kHeaderMagic - 1) != 0) return h;
    std::string text(block, strnlen(block, kUserBlock));
    auto field = [&](const std::string& name) {
        size_t at = text.find("\n" + name + " ");
        if (at == std::string::npos) return std::string();
        at += name.size() + 2;
        size_t end = text.find('\n', at);
        return end == std::string::npos ? std::string() : text.substr(at, end - at);
    };
    h.sha256 = field("sha256");
    h.fingerprint = field("fingerprint");
    h.family = field("family");
    const std::string budget = field("budget"), invalid = field("invalid");
    if (!budget.empty() && budget.find_first_not_of("0123456789") == std::string::npos && budget.size() < 19)
        h.budget = std::stoull(budget);
    if (!invalid.empty() && invalid.find_first_not_of("0123456789") == std::string::npos && invalid.size() < 19)
        h.invalid = std::stoull(invalid);
    h.ok = h.sha256.size() == 64 && !h.fingerprint.empty();
    return h;
}

void check_store_file(const std::string& path) {
    StoreHeader h = read_store_header(path);
    if (!h.ok)
        throw RunError(path +
                       ": not a sealed simbi store (no valid header: not written by simbi, written before stores carried "
                       "checksums, or damaged); simulate it again");
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) throw RunError("cannot read " + path + ": " + std::strerror(errno));
    std::fseek(f, long(kUserBlock), SEEK_SET);
    Sha256 sum;
    std::vector<char> buf(1 << 20);
    size_t n;
    while ((n = std::fread(buf.data(), 1, buf.size(), f)) > 0) sum.update(buf.data(), n);
    const bool bad = std::ferror(f);
    std::fclose(f);
    if (bad) throw RunError("cannot read " + path);
    if (sum.hex() != h.sha256)
        throw RunError(path + ": does not match its checksum (the file was changed or damaged after sealing); simulate it again");
}

void seal_store(const Journal& journal, const std::string& store_path, const StoreMeta& meta) {
    const std::string tmp = unique_temp_path(store_path);
    const uint64_t n = journal.totals().kept, d = meta.parameter_names.size(), k = meta.x_dim;
    std::error_code ec;
    try {
        h5::Id fcpl = h5::untimed_file_plist();
        h5::check(H5Pset_userblock(fcpl, kUserBlock), "reserving the store's header");
        // H5F_ACC_EXCL creates with O_EXCL: never through a link, never over another file.
        h5::Id file(H5Fcreate(tmp.c_str(), H5F_ACC_EXCL, fcpl, H5P_DEFAULT), &H5Fclose, "creating " + tmp);
        h5::Id theta = create_rows_dataset(file, "theta", n, d, meta), x = create_rows_dataset(file, "x", n, k, meta);
        Sha256 theta_sum, x_sum;
        FileRows rows_t, rows_x;
        uint64_t row = 0;
        journal.for_each([&](const double* t, const double* xs, uint64_t rows) {
            if (rows == 0) return;
            to_file_rows(t, rows * d, meta.float64, rows_t);
            to_file_rows(xs, rows * k, meta.float64, rows_x);
            theta_sum.update(rows_t.data(), rows_t.bytes());
            x_sum.update(rows_x.data(), rows_x.bytes());
            write_rows(theta, row, rows, d, rows_t, meta.float64, tmp);
            write_rows(x, row, rows, k, rows_x, meta.float64, tmp);
            row += rows;
        });
        h5::check(theta.close(), "closing /theta of " + tmp);
        h5::check(x.close(), "closing /x of " + tmp);
        const StoreTotals& tot = journal.totals();
        const json attributes = {{"parameter_names", meta.parameter_names},
                                 {"x_dim", meta.x_dim},
                                 {"rows", n},
                                 {"simulator_id", meta.simulator_id},
                                 {"simulator_version", meta.simulator_version},
                                 {"simulator_sha256", meta.simulator_sha256},
                                 {"simulator_config", meta.simulator_config},
                                 {"prior", meta.prior_json},
                                 {"seed", meta.seed},
                                 {"budget", meta.budget},
                                 {"invalid_policy", meta.invalid_policy},
                                 {"n_simulated", tot.simulated},
                                 {"n_invalid", tot.invalid},
                                 {"n_resampled", tot.resampled},
                                 {"n_dropped", tot.simulated - tot.kept},
                                 {"dtype", meta.float64 ? "float64" : "float32"},
                                 {"manifest", meta.manifest_json},
                                 {"simbi_version", SIMBI_VERSION_STRING},
                                 {"fingerprint", meta.fingerprint()},
                                 {"theta_sha256", theta_sum.hex()},
                                 {"x_sha256", x_sum.hex()}};
        for (auto it = attributes.begin(); it != attributes.end(); ++it) h5::write_attribute(file, it.key(), it.value());
        if (file.close() < 0) throw RunError("closing " + tmp + " failed (is the disk full?)");
    } catch (const RunError& e) {
        fs::remove(tmp, ec);
        throw RunError(std::string(e.what()) + "; the journal " + journal.path() + " is kept, and running again retries the sealing");
    }
    try {
        write_store_header(tmp, meta.fingerprint(),
                           "family " + meta.family() + "\nbudget " + std::to_string(meta.budget) + "\ninvalid " +
                               std::to_string(journal.totals().invalid) + "\n");
    } catch (const RunError& e) {
        fs::remove(tmp, ec);
        throw RunError(std::string(e.what()) + "; the journal " + journal.path() + " is kept");
    }
    rename_over(tmp, store_path);
}

std::string store_fingerprint(const std::string& store_path) {
    std::error_code ec;
    if (!fs::exists(store_path, ec)) return "";
    StoreHeader h = read_store_header(store_path);
    return h.ok ? h.fingerprint : std::string();
}

std::string journal_fingerprint(const std::string& journal_path) {
    std::error_code ec;
    if (!fs::exists(journal_path, ec)) return "";
    std::string header;
    const bool ok = read_journal_header(journal_path, header);
    if (!ok) return "corrupt";
    try {
        return json::parse(header).value("fingerprint", "corrupt");
    } catch (const std::exception&) {
        return "corrupt";
    }
}

struct DatasetReader::Handles {
    h5::Id file, theta, x;
};

DatasetReader::DatasetReader(const std::string& path) : h_(new Handles), path_(path) {
    std::error_code ec;
    if (!fs::exists(path, ec)) throw RunError(path + ": no such file");
    // Every byte is checked before HDF5 parses any: HDF5 can crash on a damaged file.
    check_store_file(path);
    hid_t raw = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    if (raw < 0) throw RunError(path + ": not an HDF5 file (or a damaged one)");
    h_->file = h5::Id(raw, &H5Fclose, "opening " + path);
    if (H5Lexists(h_->file, "theta", H5P_DEFAULT) <= 0 || H5Lexists(h_->file, "x", H5P_DEFAULT) <= 0)
        throw RunError(path + ": not a simbi dataset (expected /theta and /x)");
    h_->theta = h5::Id(H5Dopen2(h_->file, "theta", H5P_DEFAULT), &H5Dclose, "opening /theta of " + path);
    h_->x = h5::Id(H5Dopen2(h_->file, "x", H5P_DEFAULT), &H5Dclose, "opening /x of " + path);
    auto dims = [&](hid_t ds, const char* name, uint64_t& rows, uint64_t& cols) {
        h5::Id s(H5Dget_space(ds), &H5Sclose, "dataspace");
        hsize_t dd[2] = {0, 0};
        if (H5Sget_simple_extent_ndims(s) != 2) throw RunError(path + ": /" + name + " must be 2-D");
        H5Sget_simple_extent_dims(s, dd, nullptr);
        rows = dd[0];
        cols = dd[1];
    };
    uint64_t xr = 0;
    dims(h_->theta, "theta", rows_, d_);
    dims(h_->x, "x", xr, k_);
    if (xr != rows_)
        throw RunError(path + ": /theta and /x have different row counts (" + std::to_string(rows_) + " and " + std::to_string(xr) + ")");
    auto type_size = [&](hid_t ds) {
        h5::Id t(H5Dget_type(ds), &H5Tclose, "dataset type");
        if (H5Tget_class(t) != H5T_FLOAT) throw RunError(path + ": /theta and /x must hold floating-point numbers");
        return H5Tget_size(t);
    };
    const size_t ts = type_size(h_->theta), xs = type_size(h_->x);
    if (ts != xs || (ts != 4 && ts != 8)) throw RunError(path + ": /theta and /x must both be float32 or both float64");
    dtype_ = ts == 8 ? "float64" : "float32";
    attributes_ = h5::read_attributes(h_->file);
}

DatasetReader::~DatasetReader() = default;

void DatasetReader::verify(bool datasets) const {
    const json& a = attributes_;
    auto need = [&](const char* key) -> const json& {
        if (!a.contains(key))
            throw RunError(path_ + ": attribute '" + key +
                           "' is missing: not a sealed simbi store, or one written "
                           "before stores carried checksums; simulate it again");
        return a[key];
    };
    const json& names = need("parameter_names");
    if (!names.is_array() || names.size() != d_)
        throw RunError(path_ + ": /theta has " + std::to_string(d_) + " columns but parameter_names lists " +
                       std::to_string(names.is_array() ? names.size() : 0) + " parameters");
    if (!need("x_dim").is_number_unsigned() || a["x_dim"].get<uint64_t>() != k_)
        throw RunError(path_ + ": /x has " + std::to_string(k_) + " columns but the store says x_dim = " + a["x_dim"].dump());
    if (!need("rows").is_number_unsigned() || a["rows"].get<uint64_t>() != rows_)
        throw RunError(path_ + ": /theta has " + std::to_string(rows_) + " rows but the store says " + a["rows"].dump());
    if (!need("dtype").is_string() || a["dtype"].get<std::string>() != dtype_)
        throw RunError(path_ + ": the datasets are " + dtype_ + " but the store says " + a["dtype"].dump());
    if (!datasets) return;
    Sha256 theta_sum, x_sum;
    const uint64_t block = std::max<uint64_t>(1, (uint64_t(8) << 20) / ((d_ + k_ + 1) * 8));
    std::vector<char> tbuf, xbuf;
    for (uint64_t start = 0; start < rows_; start += block) {
        const uint64_t count = std::min(block, rows_ - start);
        read_file_type(start, count, tbuf, xbuf);
        theta_sum.update(tbuf.data(), tbuf.size());
        x_sum.update(xbuf.data(), xbuf.size());
    }
    const std::string ts = theta_sum.hex(), xs = x_sum.hex();
    if (ts != need("theta_sha256").get<std::string>())
        throw RunError(path_ + ": /theta does not match its checksum (the file was changed or damaged after sealing); simulate it again");
    if (xs != need("x_sha256").get<std::string>())
        throw RunError(path_ + ": /x does not match its checksum (the file was changed or damaged after sealing); simulate it again");
}

std::string DatasetReader::checksum() const { return attributes_.value("theta_sha256", "") + ":" + attributes_.value("x_sha256", ""); }

void DatasetReader::read_file_type(uint64_t start, uint64_t count, std::vector<char>& theta, std::vector<char>& x) const {
    const size_t size = dtype_ == "float64" ? 8 : 4;
    theta.resize(count * d_ * size);
    x.resize(count * k_ * size);
    hid_t mem = size == 8 ? H5T_NATIVE_DOUBLE : H5T_NATIVE_FLOAT;
    read_block(h_->theta, start, count, d_, mem, theta.data());
    read_block(h_->x, start, count, k_, mem, x.data());
}

void DatasetReader::read_block(long long ds, uint64_t start, uint64_t count, uint64_t cols, long long mem_type, void* out) const {
    if (count == 0 || cols == 0) return;
    hsize_t st[2] = {start, 0}, cn[2] = {count, cols};
    h5::Id fspace(H5Dget_space(ds), &H5Sclose, "dataspace");
    h5::check(H5Sselect_hyperslab(fspace, H5S_SELECT_SET, st, nullptr, cn, nullptr), "selecting rows of " + path_);
    h5::Id mspace(H5Screate_simple(2, cn, nullptr), &H5Sclose, "dataspace");
    h5::check(H5Dread(ds, mem_type, mspace, fspace, H5P_DEFAULT, out), "reading " + path_);
}

void DatasetReader::read(uint64_t start, uint64_t count, double* theta, double* x) const {
    if (start > rows_ || count > rows_ - start) throw RunError(path_ + ": read past the end");
    read_block(h_->theta, start, count, d_, H5T_NATIVE_DOUBLE, theta);
    if (x) read_block(h_->x, start, count, k_, H5T_NATIVE_DOUBLE, x);
}

json DatasetReader::attributes() const { return attributes_; }

}  // namespace simbi::host
