#include "simbi_host/store.hpp"

#include <fcntl.h>
#include <hdf5.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "simbi_host/errors.hpp"
#include "simbi_host/sha256.hpp"

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

// Silences HDF5's own error printing; our messages name the file.
struct QuietHdf5 {
    QuietHdf5() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }
};
const QuietHdf5 quiet_hdf5;

void check(herr_t status, const std::string& what) {
    if (status < 0) throw RunError("HDF5: " + what + " failed");
}
hid_t check_id(hid_t id, const std::string& what) {
    if (id < 0) throw RunError("HDF5: " + what + " failed");
    return id;
}

void put_string(hid_t obj, const char* name, const std::string& value) {
    hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, H5T_VARIABLE);
    H5Tset_cset(type, H5T_CSET_UTF8);
    hid_t space = H5Screate(H5S_SCALAR);
    hid_t attr = check_id(H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT), std::string("attribute ") + name);
    const char* p = value.c_str();
    check(H5Awrite(attr, type, &p), std::string("writing attribute ") + name);
    H5Aclose(attr);
    H5Sclose(space);
    H5Tclose(type);
}

void put_strings(hid_t obj, const char* name, const std::vector<std::string>& values) {
    hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, H5T_VARIABLE);
    H5Tset_cset(type, H5T_CSET_UTF8);
    hsize_t n = values.size();
    hid_t space = H5Screate_simple(1, &n, nullptr);
    hid_t attr = check_id(H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT), std::string("attribute ") + name);
    std::vector<const char*> ptrs;
    for (const auto& v : values) ptrs.push_back(v.c_str());
    check(H5Awrite(attr, type, ptrs.data()), std::string("writing attribute ") + name);
    H5Aclose(attr);
    H5Sclose(space);
    H5Tclose(type);
}

void put_u64(hid_t obj, const char* name, uint64_t value) {
    hid_t space = H5Screate(H5S_SCALAR);
    hid_t attr = check_id(H5Acreate2(obj, name, H5T_STD_U64LE, space, H5P_DEFAULT, H5P_DEFAULT), std::string("attribute ") + name);
    check(H5Awrite(attr, H5T_NATIVE_UINT64, &value), std::string("writing attribute ") + name);
    H5Aclose(attr);
    H5Sclose(space);
}

}  // namespace

std::string StoreMeta::fingerprint() const {
    json j = {{"parameter_names", parameter_names}, {"x_dim", x_dim},
              {"simulator_id", simulator_id}, {"simulator_version", simulator_version},
              {"simulator_sha256", simulator_sha256}, {"simulator_config", simulator_config},
              {"prior", prior_json}, {"seed", seed}, {"budget", budget}, {"chunk_rows", chunk_rows},
              {"invalid_policy", invalid_policy}, {"float64", float64}};
    std::string s = j.dump();
    return sha256_hex(s.data(), s.size());
}

Journal::Journal(std::string path, const StoreMeta& meta) : path_(std::move(path)), d_(meta.parameter_names.size()), k_(meta.x_dim) {
    header_ = json{{"fingerprint", meta.fingerprint()}, {"theta_dim", d_}, {"x_dim", k_}}.dump();
    if (fs::exists(path_)) {
        std::FILE* f = std::fopen(path_.c_str(), "rb");
        if (!f) throw RunError("cannot read " + path_ + ": " + std::strerror(errno));
        char magic[8];
        uint64_t len = 0;
        std::string header;
        bool ok = std::fread(magic, 1, 8, f) == 8 && std::memcmp(magic, kMagic, 8) == 0 && std::fread(&len, 8, 1, f) == 1 && len < (1u << 20);
        if (ok) {
            header.resize(len);
            ok = std::fread(&header[0], 1, len, f) == len;
        }
        std::fclose(f);
        if (ok && header == header_) {
            read_existing(header);
        } else {
            std::fprintf(stderr, "note: %s belongs to a different simulation setup; starting over\n", path_.c_str());
            fs::remove(path_);
        }
    }
    if (!resumed_) {
        fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd_ < 0) throw RunError("cannot create " + path_ + ": " + std::strerror(errno));
        uint64_t len = header_.size();
        write_all(fd_, kMagic, 8, path_);
        write_all(fd_, &len, 8, path_);
        write_all(fd_, header_.data(), header_.size(), path_);
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
    if (::truncate(path_.c_str(), off_t(good_end)) != 0) throw RunError("cannot truncate " + path_ + ": " + std::strerror(errno));
    fd_ = ::open(path_.c_str(), O_WRONLY | O_APPEND);
    if (fd_ < 0) throw RunError("cannot reopen " + path_ + ": " + std::strerror(errno));
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

void seal_store(const Journal& journal, const std::string& store_path, const StoreMeta& meta) {
    const std::string tmp = store_path + ".tmp";
    const uint64_t n = journal.totals().kept, d = meta.parameter_names.size(), k = meta.x_dim;
    fs::remove(tmp);
    hid_t fcpl = H5Pcreate(H5P_FILE_CREATE);
    H5Pset_obj_track_times(fcpl, 0);  // no timestamps: equal content gives equal bytes
    hid_t file = check_id(H5Fcreate(tmp.c_str(), H5F_ACC_TRUNC, fcpl, H5P_DEFAULT), "creating " + tmp);
    H5Pclose(fcpl);
    hid_t ftype = meta.float64 ? H5T_IEEE_F64LE : H5T_IEEE_F32LE;
    auto make = [&](const char* name, uint64_t cols) {
        hsize_t dims[2] = {n, cols};
        hid_t space = H5Screate_simple(2, dims, nullptr);
        hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
        H5Pset_obj_track_times(dcpl, 0);
        if (n > 0) {
            // HDF5 chunks of at most about 1 MiB read well from h5py and from simbi alike.
            hsize_t cap = std::max<hsize_t>(1, (1u << 20) / (std::max<uint64_t>(cols, 1) * (meta.float64 ? 8 : 4)));
            hsize_t chunk[2] = {std::min<hsize_t>({n, meta.chunk_rows, cap}), cols};
            H5Pset_chunk(dcpl, 2, chunk);
        }
        hid_t ds = check_id(H5Dcreate2(file, name, ftype, space, H5P_DEFAULT, dcpl, H5P_DEFAULT), std::string("creating ") + name);
        H5Pclose(dcpl);
        H5Sclose(space);
        return ds;
    };
    hid_t theta = make("theta", d), x = make("x", k);
    uint64_t row = 0;
    journal.for_each([&](const double* t, const double* xs, uint64_t rows) {
        if (rows == 0) return;
        auto write = [&](hid_t ds, const double* data, uint64_t cols) {
            hsize_t start[2] = {row, 0}, count[2] = {rows, cols};
            hid_t fspace = H5Dget_space(ds);
            H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, nullptr, count, nullptr);
            hid_t mspace = H5Screate_simple(2, count, nullptr);
            check(H5Dwrite(ds, H5T_NATIVE_DOUBLE, mspace, fspace, H5P_DEFAULT, data), "writing " + store_path);
            H5Sclose(mspace);
            H5Sclose(fspace);
        };
        write(theta, t, d);
        write(x, xs, k);
        row += rows;
    });
    H5Dclose(theta);
    H5Dclose(x);
    hid_t root = H5Gopen2(file, "/", H5P_DEFAULT);
    const StoreTotals& tot = journal.totals();
    put_strings(root, "parameter_names", meta.parameter_names);
    put_string(root, "simulator_id", meta.simulator_id);
    put_string(root, "simulator_version", meta.simulator_version);
    put_string(root, "simulator_sha256", meta.simulator_sha256);
    put_string(root, "simulator_config", meta.simulator_config);
    put_string(root, "prior", meta.prior_json);
    put_u64(root, "seed", meta.seed);
    put_u64(root, "budget", meta.budget);
    put_string(root, "invalid_policy", meta.invalid_policy);
    put_u64(root, "n_simulated", tot.simulated);
    put_u64(root, "n_invalid", tot.invalid);
    put_u64(root, "n_resampled", tot.resampled);
    put_u64(root, "n_dropped", tot.simulated - tot.kept);
    put_string(root, "dtype", meta.float64 ? "float64" : "float32");
    put_string(root, "manifest", meta.manifest_json);
    put_string(root, "simbi_version", SIMBI_VERSION_STRING);
    put_string(root, "fingerprint", meta.fingerprint());
    H5Gclose(root);
    check(H5Fclose(file), "closing " + tmp);
    int fd = ::open(tmp.c_str(), O_RDONLY);
    if (fd >= 0) {
        ::fsync(fd);
        ::close(fd);
    }
    std::error_code ec;
    fs::rename(tmp, store_path, ec);
    if (ec) throw RunError("cannot rename " + tmp + " to " + store_path + ": " + ec.message());
}

std::string store_fingerprint(const std::string& store_path) {
    if (!fs::exists(store_path)) return "";
    hid_t file = H5Fopen(store_path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    if (file < 0) return "";
    std::string out;
    if (H5Aexists_by_name(file, "/", "fingerprint", H5P_DEFAULT) > 0) {
        hid_t attr = H5Aopen_by_name(file, "/", "fingerprint", H5P_DEFAULT, H5P_DEFAULT);
        hid_t type = H5Aget_type(attr);
        hid_t mem = H5Tcopy(H5T_C_S1);
        H5Tset_size(mem, H5T_VARIABLE);
        H5Tset_cset(mem, H5Tget_cset(type));  // HDF5 does not convert between character sets
        char* p = nullptr;
        if (H5Tis_variable_str(type) > 0 && H5Aread(attr, mem, &p) >= 0 && p) {
            out = p;
            H5free_memory(p);
        }
        H5Tclose(mem);
        H5Tclose(type);
        H5Aclose(attr);
    }
    H5Fclose(file);
    return out;
}

DatasetReader::DatasetReader(const std::string& path) : path_(path) {
    if (!fs::exists(path)) throw RunError(path + ": no such file");
    file_ = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    if (file_ < 0) throw RunError(path + ": not an HDF5 file");
    if (H5Lexists(file_, "theta", H5P_DEFAULT) <= 0 || H5Lexists(file_, "x", H5P_DEFAULT) <= 0)
        throw RunError(path + ": not a simbi dataset (expected /theta and /x)");
    theta_ = H5Dopen2(file_, "theta", H5P_DEFAULT);
    x_ = H5Dopen2(file_, "x", H5P_DEFAULT);
    auto dims = [&](hid_t ds, uint64_t& rows, uint64_t& cols) {
        hid_t s = H5Dget_space(ds);
        hsize_t dd[2] = {0, 0};
        if (H5Sget_simple_extent_ndims(s) != 2) throw RunError(path + ": /theta and /x must be 2-D");
        H5Sget_simple_extent_dims(s, dd, nullptr);
        H5Sclose(s);
        rows = dd[0];
        cols = dd[1];
    };
    uint64_t xr = 0;
    dims(theta_, rows_, d_);
    dims(x_, xr, k_);
    if (xr != rows_) throw RunError(path + ": /theta and /x have different row counts");
    hid_t t = H5Dget_type(theta_);
    dtype_ = H5Tget_size(t) == 8 ? "float64" : "float32";
    H5Tclose(t);
}

DatasetReader::~DatasetReader() {
    if (theta_ >= 0) H5Dclose(theta_);
    if (x_ >= 0) H5Dclose(x_);
    if (file_ >= 0) H5Fclose(file_);
}

void DatasetReader::read(uint64_t start, uint64_t count, double* theta, double* x) const {
    if (start + count > rows_) throw RunError(path_ + ": read past the end");
    if (count == 0) return;
    auto rd = [&](hid_t ds, double* out, uint64_t cols) {
        hsize_t st[2] = {start, 0}, cn[2] = {count, cols};
        hid_t fspace = H5Dget_space(ds);
        H5Sselect_hyperslab(fspace, H5S_SELECT_SET, st, nullptr, cn, nullptr);
        hid_t mspace = H5Screate_simple(2, cn, nullptr);
        herr_t s = H5Dread(ds, H5T_NATIVE_DOUBLE, mspace, fspace, H5P_DEFAULT, out);
        H5Sclose(mspace);
        H5Sclose(fspace);
        check(s, "reading " + path_);
    };
    rd(theta_, theta, d_);
    rd(x_, x, k_);
}

json DatasetReader::attributes() const {
    json out = json::object();
    H5Aiterate2(
        file_, H5_INDEX_NAME, H5_ITER_INC, nullptr,
        [](hid_t loc, const char* name, const H5A_info_t*, void* data) -> herr_t {
            json& o = *static_cast<json*>(data);
            hid_t attr = H5Aopen(loc, name, H5P_DEFAULT);
            hid_t type = H5Aget_type(attr);
            hid_t space = H5Aget_space(attr);
            hssize_t n = H5Sget_simple_extent_npoints(space);
            bool scalar = H5Sget_simple_extent_type(space) == H5S_SCALAR;
            H5T_class_t cls = H5Tget_class(type);
            if (cls == H5T_STRING && H5Tis_variable_str(type) > 0) {
                hid_t mem = H5Tcopy(H5T_C_S1);
                H5Tset_size(mem, H5T_VARIABLE);
                H5Tset_cset(mem, H5Tget_cset(type));
                std::vector<char*> ptrs(static_cast<size_t>(n), nullptr);
                H5Aread(attr, mem, ptrs.data());
                json arr = json::array();
                for (char* p : ptrs) arr.push_back(p ? std::string(p) : std::string());
                H5Dvlen_reclaim(mem, space, H5P_DEFAULT, ptrs.data());
                H5Tclose(mem);
                o[name] = scalar ? arr[0] : arr;
            } else if (cls == H5T_INTEGER) {
                std::vector<uint64_t> v(static_cast<size_t>(n));
                H5Aread(attr, H5T_NATIVE_UINT64, v.data());
                o[name] = scalar ? json(v[0]) : json(v);
            } else if (cls == H5T_FLOAT) {
                std::vector<double> v(static_cast<size_t>(n));
                H5Aread(attr, H5T_NATIVE_DOUBLE, v.data());
                o[name] = scalar ? json(v[0]) : json(v);
            }
            H5Sclose(space);
            H5Tclose(type);
            H5Aclose(attr);
            return 0;
        },
        &out);
    return out;
}

}  // namespace simbi::host
