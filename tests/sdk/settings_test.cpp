// Settings declared once (simbi/config.hpp, simbi/config.h): an Option's schema, the C++ Config
// that checks a config against it and gives each value or its default, and the C accessors.
#include <catch2/catch.hpp>
#include <simbi/simbi.h>
#include <simbi/simbi.hpp>

using simbi::Config;
using simbi::Option;

namespace {
std::string schema() {
    simbi::Info info("t.settings", "settings");
    info.option("pairs", Option::integer(500).minimum(1).maximum(1000000).doc("held-out pairs"))
        .option("band", Option::number(0.99).above(0).below(1).doc("band probability"))
        .option("sampler", Option::choice({"mh", "slice"}, "mh").doc("sampler"))
        .option("widths", Option::integers({64, 64}).items_between(1, 16384).length_between(1, 8).doc("hidden widths"))
        .option("dropout", Option::number(0).unset().doc("unset: chosen from the data"))
        .option("verbose", Option::boolean(false).doc("say more"))
        .option("name", "string", "\"x\"", "a setting declared the older way");
    info.descriptor();
    return info.config_schema();
}
}  // namespace

TEST_CASE("an option's schema is JSON Schema, and Config gives each value or its default", "[sdk][settings]") {
    const std::string s = schema();
    CHECK_THAT(s, Catch::Contains(R"("$schema":"https://json-schema.org/draft/2020-12/schema")") &&
                      Catch::Contains(
                          R"("pairs":{"type":"integer","default":500,"minimum":1,"maximum":1000000,"description":"held-out pairs"})") &&
                      Catch::Contains(R"("dropout":{"type":["number","null"],"default":null)"));
    Config c(R"({"pairs": 40, "sampler": "slice"})", s);
    CHECK(c.integer("pairs") == 40);
    CHECK(c.number("band") == 0.99);
    CHECK(c.string("sampler") == "slice");
    CHECK(c.numbers("widths") == std::vector<double>{64, 64});
    CHECK_FALSE(c.has("dropout"));
    CHECK(c.number("dropout", 0.1) == 0.1);
    CHECK(c.string("name") == "x");
    CHECK_NOTHROW(c.check_all_used());  // declared keys need not be read
    CHECK_THROWS_WITH(c.number("nothing"), Catch::Contains("'nothing' has no value and no default"));
}

TEST_CASE("Config refuses what its schema does not allow, naming the key and the bound", "[sdk][settings]") {
    const std::string s = schema();
    auto refused = [&](const std::string& config) {
        try {
            Config c(config, s);
        } catch (const std::invalid_argument& e) {
            return std::string(e.what());
        }
        return std::string("accepted");
    };
    CHECK(refused(R"({"pairs": 0})") == "config key 'pairs': expected an integer at least 1, got 0");
    CHECK(refused(R"({"pairs": 1.5})") == "config key 'pairs': expected an integer, got 1.5");
    CHECK(refused(R"({"band": 1})") == "config key 'band': expected a number below 1, got 1");
    CHECK(refused(R"({"sampler": "gibbs"})") == R"(config key 'sampler': expected one of ["mh","slice"], got "gibbs")");
    CHECK(refused(R"({"widths": [64, 0]})") == "config key 'widths': item 1: expected an integer at least 1, got 0");
    CHECK(refused(R"({"widths": []})") == "config key 'widths': expected 1 to 8 items, got []");
    CHECK(refused(R"({"verbose": 1})") == "config key 'verbose': expected a boolean, got 1");
    CHECK(refused(R"({"pairz": 3})") == "unknown config key 'pairz'");
    CHECK(refused(R"({"dropout": null, "pairs": 3})") == "accepted");
}

TEST_CASE("C plugins read their settings and defaults through the accessors, and check them as the host does", "[sdk][settings]") {
    const std::string s = schema();
    const char* config = R"({"pairs": 40, "sampler": "slice", "dropout": null, "widths": [8, {"a": [1, "]"]}]})";
    int64_t pairs = 0;
    double band = 0, dropout = -1;
    int verbose = -1;
    char sampler[16];
    CHECK(simbi_config_integer(config, s.c_str(), "pairs", &pairs) == 1);
    CHECK(pairs == 40);
    CHECK(simbi_config_number(config, s.c_str(), "band", &band) == 1);  // the default
    CHECK(band == 0.99);
    CHECK(simbi_config_number(config, s.c_str(), "dropout", &dropout) == 0);  // null, and no default
    CHECK(simbi_config_boolean(config, s.c_str(), "verbose", &verbose) == 1);
    CHECK(verbose == 0);
    CHECK(simbi_config_string(config, s.c_str(), "sampler", sampler, sizeof sampler) == 1);
    CHECK(std::string(sampler) == "slice");
    CHECK(simbi_config_string(config, s.c_str(), "sampler", sampler, 3) == -1);  // does not fit
    CHECK(simbi_config_integer(config, s.c_str(), "sampler", &pairs) == -1);     // another type

    char message[256];
    simbi_error err{sizeof(simbi_error), SIMBI_OK, 0, message, sizeof message};
    CHECK(simbi_config_check(R"({"pairs": 3, "band": 0.5, "verbose": true})", s.c_str(), &err) == 1);
    CHECK(simbi_config_check(R"({"pairz": 3})", s.c_str(), &err) == 0);
    CHECK(std::string(message) == "unknown config key 'pairz'");
    CHECK(simbi_config_check(R"({"pairs": 0})", s.c_str(), &err) == 0);
    CHECK(std::string(message) == "config key 'pairs' is out of its range (minimum)");
    CHECK(simbi_config_check(R"({"pairs": 2.5})", s.c_str(), &err) == 0);
    CHECK(std::string(message) == "config key 'pairs' must be an integer");
    CHECK(simbi_config_check("[1]", s.c_str(), &err) == 0);
    for (const char* malformed : {"{not json", R"({"pairs" 3})", R"({"pairs": 3)", R"({"pairs": 3} x)", "{"})
        CHECK(simbi_config_check(malformed, s.c_str(), &err) == 0);
    CHECK(simbi_config_check(" { } ", s.c_str(), &err) == 1);
}
