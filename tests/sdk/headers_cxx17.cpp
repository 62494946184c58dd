// Compiles every SDK header, C and C++, as C++17 (-pedantic -Werror).
#include <simbi/diagnostic.hpp>
#include <simbi/estimator.hpp>
#include <simbi/ext/diagnostic_report.h>
#include <simbi/report.hpp>
#include <simbi/simbi.h>
#include <simbi/simbi.hpp>

double simbi_header_check_cxx17();
double simbi_header_check_cxx17() {
    simbi::Rng rng(1, 2);
    simbi::Config cfg(R"({"a": 1})");
    return rng.normal() + cfg.number("a", 0.0);
}
