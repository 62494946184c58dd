// simbi/simbi.hpp: the header-only C++ layer over the C ABI.
//
// A simulator is a class with
//   static simbi::Info info();                                   // what it is
//   explicit Name(const simbi::Config& config);                  // throws on a bad config
//   bool simulate(const double* theta, simbi::Rng& rng, double* x) const;  // one row; false = invalid
// and a library exports one or more such classes with
//   SIMBI_EXPORT_PLUGINS(Name, Other, ...)
// Exceptions never cross the boundary: they become a status and a message.
#ifndef SIMBI_SIMBI_HPP
#define SIMBI_SIMBI_HPP

#include <cstring>
#include <exception>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "config.hpp"
#include "simbi.h"

namespace simbi {

// The per-row generator: a thin C++ face on simbi_rng.
class Rng {
public:
    Rng(uint64_t seed, uint64_t row) { simbi_rng_init(&r_, seed, row); }
    double uniform() { return simbi_rng_uniform(&r_); }
    double uniform(double low, double high) { return simbi_rng_uniform_range(&r_, low, high); }
    double normal() { return simbi_rng_normal(&r_); }
    double normal(double mean, double std) { return mean + std * simbi_rng_normal(&r_); }
    double exponential() { return simbi_rng_exponential(&r_); }
    uint32_t u32() { return simbi_rng_u32(&r_); }
    simbi_rng* c_rng() { return &r_; }

private:
    simbi_rng r_;
};

// A plugin's description, built fluently and kept for the library's life.
class Info {
public:
    // Simulators default to instances shared by all threads (simulate is const); estimators and
    // diagnostics are called from one thread.
    Info(std::string id, std::string name, simbi_kind kind = SIMBI_KIND_SIMULATOR)
        : id_(std::move(id)),
          name_(std::move(name)),
          kind_(kind),
          thread_(kind == SIMBI_KIND_SIMULATOR ? SIMBI_THREAD_SHARED : SIMBI_THREAD_INSTANCE) {}
    Info& version(std::string v) {
        version_ = std::move(v);
        return *this;
    }
    Info& vendor(std::string v) {
        vendor_ = std::move(v);
        return *this;
    }
    Info& description(std::string v) {
        description_ = std::move(v);
        return *this;
    }
    Info& params(std::vector<std::string> names) {
        params_ = std::move(names);
        return *this;
    }
    Info& outputs(uint64_t k) {
        output_dim_ = k;
        return *this;
    }
    Info& shape(std::vector<uint64_t> s) {
        shape_ = std::move(s);
        return *this;
    }
    Info& prior(std::string json) {
        prior_ = std::move(json);
        return *this;
    }
    // Bounds of the outputs, {"low": [...], "high": [...]} with null for an unbounded side.
    Info& support(std::string json) {
        support_ = std::move(json);
        return *this;
    }
    // Capabilities beyond the required calls (SIMBI_CAPABILITY_*), ORed in.
    Info& capability(uint64_t flag) {
        capabilities_ |= flag;
        return *this;
    }
    Info& thread_safe(bool shared) {
        thread_ = shared ? SIMBI_THREAD_SHARED : SIMBI_THREAD_INSTANCE;
        return *this;
    }
    // A config key and its schema (simbi/config.hpp): type, default, bounds or allowed values,
    // documentation. Declared once: the host checks manifests against it, and Config gives the
    // plugin the value or this default.
    Info& option(const std::string& key, const Option& o) {
        schema_ += (schema_.empty() ? "" : ",") + detail::quote(key) + ":" + o.json();
        return *this;
    }
    // The same, with the schema's members given as text: type is number|integer|string|boolean|
    // array|object, default_json is JSON text.
    Info& option(const std::string& key, const std::string& type, const std::string& default_json, const std::string& doc) {
        schema_ += (schema_.empty() ? "" : ",") + detail::quote(key) + ":{\"type\":\"" + type + "\",\"default\":" + default_json +
                   ",\"description\":" + detail::quote(doc) + "}";
        return *this;
    }

    // A key of the manifest's estimator.training object (estimators), as option().
    Info& training_option(const std::string& key, const Option& o) {
        training_ += (training_.empty() ? "" : ",") + detail::quote(key) + ":" + o.json();
        has_training_ = true;
        return *this;
    }
    // constraints: more members of the key's schema as text, e.g. "\"minimum\": 1".
    Info& training_option(const std::string& key, const std::string& type, const std::string& default_json, const std::string& doc,
                          const std::string& constraints = "") {
        training_ += (training_.empty() ? "" : ",") + detail::quote(key) + ":{\"type\":\"" + type + "\",\"default\":" + default_json +
                     ",\"description\":" + detail::quote(doc) + (constraints.empty() ? "" : "," + constraints) + "}";
        has_training_ = true;
        return *this;
    }

    // Freezes the strings and returns the C descriptor that points into them. The schemas are
    // JSON Schema (2020-12) objects whose properties are the keys.
    const simbi_descriptor* descriptor() {
        schema_json_ = object_schema(schema_);
        training_json_ = object_schema(training_);
        name_ptrs_.clear();
        for (const auto& p : params_) name_ptrs_.push_back(p.c_str());
        std::memset(&d_, 0, sizeof d_);
        d_.size = sizeof d_;
        d_.id = id_.c_str();
        d_.name = name_.c_str();
        d_.version = version_.c_str();
        d_.vendor = vendor_.c_str();
        d_.description = description_.c_str();
        d_.kind = kind_;
        d_.thread_safety = thread_;
        d_.param_dim = params_.size();
        d_.param_names = name_ptrs_.empty() ? nullptr : name_ptrs_.data();
        d_.output_dim = output_dim_;
        d_.output_rank = shape_.size();
        d_.output_shape = shape_.empty() ? nullptr : shape_.data();
        d_.default_prior_json = prior_.empty() ? nullptr : prior_.c_str();
        d_.config_schema_json = schema_json_.c_str();
        d_.training_schema_json = has_training_ ? training_json_.c_str() : nullptr;
        d_.output_support_json = support_.empty() ? nullptr : support_.c_str();
        d_.capabilities = capabilities_;
        return &d_;
    }
    const std::string& id() const { return id_; }
    // The config and training schemas, JSON Schema objects of the options declared so far.
    std::string config_schema() const { return object_schema(schema_); }
    std::string training_schema() const { return object_schema(training_); }
    uint64_t param_dim() const { return params_.size(); }
    uint64_t output_dim() const { return output_dim_; }

private:
    static std::string object_schema(const std::string& properties) {
        return "{\"$schema\":\"https://json-schema.org/draft/2020-12/schema\",\"type\":\"object\",\"additionalProperties\":false,"
               "\"properties\":{" +
               properties + "}}";
    }
    std::string id_, name_, version_ = "1.0.0", vendor_, description_, prior_, schema_, schema_json_, training_, training_json_, support_;
    bool has_training_ = false;
    uint64_t capabilities_ = 0;
    simbi_kind kind_;
    simbi_thread_safety thread_;
    std::vector<std::string> params_;
    std::vector<const char*> name_ptrs_;
    uint64_t output_dim_ = 0;
    std::vector<uint64_t> shape_;
    simbi_descriptor d_{};
};

namespace detail {

inline simbi_status fail(simbi_error* err, simbi_status status, const std::string& msg) {
    return simbi_error_set(err, status, msg.c_str());
}

// Adapts a simulator class to simbi_simulator.
template <class Sim>
struct SimulatorAdapter {
    struct Instance {
        simbi_simulator c;
        std::unique_ptr<Sim> sim;
        uint64_t d, k;
    };
    static void destroy(simbi_simulator* self) { delete static_cast<Instance*>(self->data); }
    static simbi_status simulate(simbi_simulator* self, uint64_t n, const double* theta, uint64_t seed, uint64_t row_offset, double* x,
                                 uint8_t* valid, simbi_error* err) {
        Instance* in = static_cast<Instance*>(self->data);
        try {
            for (uint64_t i = 0; i < n; ++i) {
                Rng rng(seed, row_offset + i);
                valid[i] = in->sim->simulate(theta + i * in->d, rng, x + i * in->k) ? 1 : 0;
            }
            return SIMBI_OK;
        } catch (const std::exception& e) {
            return fail(err, SIMBI_ERROR, std::string("simulate: ") + e.what());
        } catch (...) {
            return fail(err, SIMBI_ERROR, "simulate: unknown exception");
        }
    }
    static void* create(Info& info, const simbi_host*, const char* config, simbi_error* err) {
        try {
            Config cfg(config ? config : "{}", info.config_schema());
            std::unique_ptr<Instance> in(new Instance());
            in->sim.reset(new Sim(cfg));
            cfg.check_all_used();
            in->d = info.param_dim();
            in->k = info.output_dim();
            std::memset(&in->c, 0, sizeof in->c);
            in->c.size = sizeof in->c;
            in->c.data = in.get();
            in->c.destroy = &destroy;
            in->c.simulate = &simulate;
            return &in.release()->c;
        } catch (const std::exception& e) {
            fail(err, SIMBI_ERROR, std::string(info.id()) + ": " + e.what());
        } catch (...) {
            fail(err, SIMBI_ERROR, info.id() + ": unknown exception in constructor");
        }
        return nullptr;
    }
};

// A class may name its own adapter (estimators, diagnostics); simulators get SimulatorAdapter.
template <class T, class = void>
struct AdapterOf {
    using type = SimulatorAdapter<T>;
};
template <class T>
struct AdapterOf<T, std::void_t<typename T::adapter>> {
    using type = typename T::adapter;
};

// The extensions a library offers (simbi/ext/), by id: the C++ layers of the plugin kinds add
// theirs when they are included (diagnostic.hpp adds the diagnostic report).
inline std::vector<std::pair<std::string, const void*>>& extensions() {
    static std::vector<std::pair<std::string, const void*>> offered;
    return offered;
}
inline void offer_extension(const char* id, const void* ext) {
    for (const auto& e : extensions())
        if (e.first == id) return;
    extensions().emplace_back(id, ext);
}
// An adapter with extensions to offer has `static void offer_extensions()`.
template <class A, class = void>
struct OffersExtensions {
    static void offer() {}
};
template <class A>
struct OffersExtensions<A, std::void_t<decltype(&A::offer_extensions)>> {
    static void offer() { A::offer_extensions(); }
};

struct Slot {
    Info* info;
    const simbi_descriptor* descriptor;
    void* (*create)(Info&, const simbi_host*, const char*, simbi_error*);
};

template <class T>
Slot make_slot() {
    static Info info = T::info();
    static const simbi_descriptor* d = info.descriptor();
    return Slot{&info, d, &AdapterOf<T>::type::create};
}

template <class... Ts>
struct Library {
    // The main factory's plugins: simulators, estimators and diagnostics. Other kinds are
    // listed by the factory extensions their adapters offer (simbi/assimilator.hpp).
    static std::vector<Slot>& slots() {
        static std::vector<Slot> s = [] {
            std::vector<Slot> main;
            for (const Slot& slot : {make_slot<Ts>()...})
                if (slot.descriptor->kind <= SIMBI_KIND_DIAGNOSTIC) main.push_back(slot);
            return main;
        }();
        return s;
    }
    static uint64_t count(const simbi_factory*) { return slots().size(); }
    static const simbi_descriptor* descriptor(const simbi_factory*, uint64_t i) {
        return i < slots().size() ? slots()[i].descriptor : nullptr;
    }
    static void* create(const simbi_factory*, const simbi_host* host, const char* id, const char* config, simbi_error* err) {
        for (auto& s : slots())
            if (id && s.info->id() == id) return s.create(*s.info, host, config, err);
        fail(err, SIMBI_ERROR, std::string("no plugin with id '") + (id ? id : "(null)") + "' in this library");
        return nullptr;
    }
    static simbi_status init(const char*, simbi_error* err) {
        try {
            slots();
            (OffersExtensions<typename AdapterOf<Ts>::type>::offer(), ...);
            return SIMBI_OK;
        } catch (const std::exception& e) {
            return fail(err, SIMBI_FATAL, e.what());
        }
    }
    static void deinit() {}
    static const void* get_extension(const simbi_factory*, const char* id) {
        for (const auto& e : extensions())
            if (id && e.first == id) return e.second;
        return nullptr;
    }
    static const simbi_factory* factory() {
        static const simbi_factory f{sizeof(simbi_factory), &count, &descriptor, &create, &get_extension};
        return &f;
    }
};

}  // namespace detail
}  // namespace simbi

// Exports the library's one entry symbol for the listed plugin classes.
#define SIMBI_EXPORT_PLUGINS(...)                                                           \
    extern "C" {                                                                            \
    SIMBI_EXPORT extern const simbi_entry simbi_plugin_entry;                               \
    const simbi_entry simbi_plugin_entry = {sizeof(simbi_entry),                            \
                                            SIMBI_ABI_MAJOR,                                \
                                            SIMBI_ABI_MINOR,                                \
                                            &simbi::detail::Library<__VA_ARGS__>::init,     \
                                            &simbi::detail::Library<__VA_ARGS__>::deinit,   \
                                            &simbi::detail::Library<__VA_ARGS__>::factory}; \
    }

#endif
