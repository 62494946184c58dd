// The shared machinery of simbi's LibTorch estimators, one header per concern: util.hpp,
// training.hpp, bootstrap.hpp, networks.hpp, support.hpp, samplers.hpp, ode.hpp, c2st.hpp,
// estimator.hpp. Linked statically into each estimator plugin; every plugin uses Debian's one
// shared libtorch.
#pragma once
#include "bootstrap.hpp"
#include "c2st.hpp"
#include "estimator.hpp"
#include "networks.hpp"
#include "ode.hpp"
#include "samplers.hpp"
#include "support.hpp"
#include "training.hpp"
#include "util.hpp"
