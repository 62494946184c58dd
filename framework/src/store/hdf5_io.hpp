// HDF5 handles behind RAII, and the one attribute writer and reader of the host's HDF5 files.
// Internal to the host library.
#pragma once
#include <hdf5.h>

#include <string>
#include <utility>

#include "simbi_host/core/errors.hpp"
#include "simbi_host/core/json_reader.hpp"

namespace simbi::host::h5 {

// Owns one HDF5 identifier and closes it with the matching H5*close.
class Id {
public:
    Id() = default;
    Id(hid_t id, herr_t (*close)(hid_t), const std::string& what) : id_(id), close_(close) {
        if (id_ < 0) throw RunError("HDF5: " + what + " failed");
    }
    ~Id() { reset(); }
    Id(Id&& o) noexcept : id_(std::exchange(o.id_, -1)), close_(o.close_) {}
    Id& operator=(Id&& o) noexcept {
        if (this != &o) {
            reset();
            id_ = std::exchange(o.id_, -1);
            close_ = o.close_;
        }
        return *this;
    }
    Id(const Id&) = delete;
    Id& operator=(const Id&) = delete;
    hid_t get() const { return id_; }
    operator hid_t() const { return id_; }
    // Closes now and reports the status: a file's close is where HDF5 flushes, so it can fail.
    herr_t close() {
        herr_t s = id_ >= 0 ? close_(id_) : 0;
        id_ = -1;
        return s;
    }

private:
    void reset() {
        if (id_ >= 0) close_(id_);
        id_ = -1;
    }
    hid_t id_ = -1;
    herr_t (*close_)(hid_t) = nullptr;
};

inline void check(herr_t status, const std::string& what) {
    if (status < 0) throw RunError("HDF5: " + what + " failed");
}

// Writes one attribute on obj: a string, an array of strings, or an unsigned integer; any other
// JSON value is written as its JSON text.
void write_attribute(hid_t obj, const std::string& name, const json& value);

// Every attribute of obj as JSON: strings, string arrays, integers and floats.
json read_attributes(hid_t obj);

// A file-creation property list without timestamps: equal content gives equal bytes.
Id untimed_file_plist();

}  // namespace simbi::host::h5
