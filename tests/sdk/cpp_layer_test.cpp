// simbi/simbi.hpp and config.hpp: config parsing, unknown keys, and exceptions turned into status.
#include <simbi/simbi.hpp>

#include <catch2/catch.hpp>

TEST_CASE("Config reads typed values and rejects unknown keys", "[sdk][config]") {
    simbi::Config c(R"({"dt": 0.01, "n": 3, "name": "x\"y", "on": true, "v": [1, 2.5], "extra": null})");
    CHECK(c.number("dt", 0) == 0.01);
    CHECK(c.integer("n", 0) == 3);
    CHECK(c.string("name", "") == "x\"y");
    CHECK(c.boolean("on", false));
    CHECK(c.numbers("v", {}) == std::vector<double>{1, 2.5});
    CHECK(c.number("missing", 4.0) == 4.0);
    CHECK_THROWS_WITH(c.check_all_used(), Catch::Contains("extra"));
    CHECK_THROWS_WITH(simbi::Config(R"({"dt": "fast"})").number("dt", 0), Catch::Contains("must be a number"));
    CHECK_THROWS(simbi::Config("{\"a\": }"));
    CHECK_THROWS(simbi::Config("[1]"));
}

namespace {
struct Echo {
    static simbi::Info info() {
        return simbi::Info("test.echo", "Echo").params({"a", "b"}).outputs(2).option("scale", "number", "1", "scale");
    }
    explicit Echo(const simbi::Config& c) : scale(c.number("scale", 1.0)) {
        if (scale < 0) throw std::invalid_argument("scale must be non-negative");
    }
    bool simulate(const double* t, simbi::Rng& rng, double* x) const {
        if (t[0] > 100) throw std::runtime_error("too large");
        x[0] = scale * t[0] + rng.normal();
        x[1] = t[1];
        return t[1] >= 0;
    }
    double scale;
};
using Lib = simbi::detail::Library<Echo>;
}  // namespace

TEST_CASE("the C++ layer maps a class onto the C ABI", "[sdk][cpp]") {
    const simbi_factory* f = Lib::factory();
    REQUIRE(f->count(f) == 1);
    const simbi_descriptor* d = f->descriptor(f, 0);
    CHECK(std::string(d->id) == "test.echo");
    CHECK(d->param_dim == 2);
    CHECK(std::string(d->param_names[1]) == "b");
    CHECK(f->descriptor(f, 1) == nullptr);

    char buf[256];
    simbi_error err{sizeof(simbi_error), SIMBI_OK, 0, buf, sizeof buf};
    CHECK(f->create(f, nullptr, "test.echo", R"({"scale": -1})", &err) == nullptr);
    CHECK(err.status == SIMBI_ERROR);
    CHECK(std::string(buf).find("non-negative") != std::string::npos);
    CHECK(f->create(f, nullptr, "test.echo", R"({"typo": 1})", &err) == nullptr);
    CHECK(std::string(buf).find("typo") != std::string::npos);
    CHECK(f->create(f, nullptr, "test.other", "{}", &err) == nullptr);

    err.status = SIMBI_OK;
    auto* s = static_cast<simbi_simulator*>(f->create(f, nullptr, "test.echo", "{}", &err));
    REQUIRE(s != nullptr);
    double theta[4] = {1, 2, 3, -1}, x[4];
    uint8_t valid[2];
    CHECK(s->simulate(s, 2, theta, 5, 0, x, valid, &err) == SIMBI_OK);
    CHECK(valid[0] == 1);
    CHECK(valid[1] == 0);
    CHECK(s->simulate(s, 0, nullptr, 5, 0, nullptr, nullptr, &err) == SIMBI_OK);
    double big[2] = {1000, 0};
    CHECK(s->simulate(s, 1, big, 5, 0, x, valid, &err) == SIMBI_ERROR);
    CHECK(std::string(buf).find("too large") != std::string::npos);
    s->destroy(s);
}
