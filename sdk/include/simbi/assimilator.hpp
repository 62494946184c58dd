// simbi/assimilator.hpp: the C++ layer for assimilator plugins (simbi/ext/assimilator.h). Derive
// from simbi::Assimilator, give the class `static simbi::Info info()` (kind
// SIMBI_KIND_ASSIMILATOR), a constructor taking (const simbi::Config&, const simbi_host*) and
// `using adapter = simbi::AssimilatorAdapter<Class>;`, and list it in SIMBI_EXPORT_PLUGINS: the
// library then offers the assimilator factory extension, which lists it. Exceptions become a
// status and a message at the boundary.
#ifndef SIMBI_ASSIMILATOR_HPP
#define SIMBI_ASSIMILATOR_HPP

#include <string>

#include "estimator.hpp"
#include "ext/assimilator.h"

namespace simbi {

class Assimilator {
public:
    virtual ~Assimilator() = default;
    // training: the manifest's assimilation.training, checked against the descriptor's training
    // schema and holding each setting's default.
    virtual void train(const simbi_assimilation_context& ctx, const Config& training) = 0;
    virtual void sample(const simbi_observation_operator& observation, uint64_t n, uint64_t seed, double* trajectories) = 0;
    virtual void save(const std::string& dir) = 0;
    virtual void load(const std::string& dir) = 0;
};

namespace detail {

// The assimilators of every library loaded in this process's image of the SDK: one factory,
// offered as the extension, over the slots the adapters add.
inline std::vector<Slot>& assimilator_slots() {
    static std::vector<Slot> slots;
    return slots;
}

struct AssimilatorFactory {
    static uint64_t count(const simbi_factory*) { return assimilator_slots().size(); }
    static const simbi_descriptor* descriptor(const simbi_factory*, uint64_t i) {
        return i < assimilator_slots().size() ? assimilator_slots()[i].descriptor : nullptr;
    }
    static void* create(const simbi_factory*, const simbi_host* host, const char* id, const char* config, simbi_error* err) {
        for (auto& s : assimilator_slots())
            if (id && s.info->id() == id) return s.create(*s.info, host, config, err);
        fail(err, SIMBI_ERROR, std::string("no assimilator with id '") + (id ? id : "(null)") + "' in this library");
        return nullptr;
    }
    static const void* get_extension(const simbi_factory*, const char*) { return nullptr; }
    static const simbi_factory* factory() {
        static const simbi_factory f{sizeof(simbi_factory), &count, &descriptor, &create, &get_extension};
        return &f;
    }
};

template <class T>
struct AssimilatorAdapter {
    struct Instance {
        simbi_assimilator c;
        std::unique_ptr<T> impl;
        std::string training_schema;
    };
    static Instance& self(simbi_assimilator* a) { return *static_cast<Instance*>(a->data); }
    static void destroy(simbi_assimilator* a) { delete static_cast<Instance*>(a->data); }
    static simbi_status train(simbi_assimilator* a, const simbi_assimilation_context* ctx, simbi_error* err) {
        return guarded(err, "train", [&] {
            const Config training(ctx->training_json ? ctx->training_json : "{}", self(a).training_schema);
            self(a).impl->train(*ctx, training);
        });
    }
    static simbi_status sample(simbi_assimilator* a, const simbi_observation_operator* obs, uint64_t n, uint64_t seed, double* out,
                               simbi_error* err) {
        return guarded(err, "sample", [&] { self(a).impl->sample(*obs, n, seed, out); });
    }
    static simbi_status save(simbi_assimilator* a, const char* dir, simbi_error* err) {
        return guarded(err, "save", [&] { self(a).impl->save(dir); });
    }
    static simbi_status load(simbi_assimilator* a, const char* dir, simbi_error* err) {
        return guarded(err, "load", [&] { self(a).impl->load(dir); });
    }
    static void* create(Info& info, const simbi_host* host, const char* config, simbi_error* err) {
        try {
            Config cfg(config ? config : "{}", info.config_schema());
            std::unique_ptr<Instance> in(new Instance());
            in->impl.reset(new T(cfg, host));
            cfg.check_all_used();
            in->training_schema = info.training_schema();
            std::memset(&in->c, 0, sizeof in->c);
            in->c.size = sizeof in->c;
            in->c.data = in.get();
            in->c.destroy = &destroy;
            in->c.train = &train;
            in->c.sample = &sample;
            in->c.save = &save;
            in->c.load = &load;
            return &in.release()->c;
        } catch (const std::exception& e) {
            fail(err, SIMBI_ERROR, info.id() + ": " + e.what());
        }
        return nullptr;
    }
    // Lists T in the assimilator factory, and offers that factory.
    static void offer_extensions() {
        const Slot slot = make_slot<T>();
        for (const auto& s : assimilator_slots())
            if (s.descriptor == slot.descriptor) return;
        assimilator_slots().push_back(slot);
        offer_extension(SIMBI_EXT_ASSIMILATOR_FACTORY, AssimilatorFactory::factory());
    }
};

}  // namespace detail

template <class T>
using AssimilatorAdapter = detail::AssimilatorAdapter<T>;

}  // namespace simbi

#endif
