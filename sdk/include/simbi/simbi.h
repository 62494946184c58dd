/* simbi/simbi.h: the whole C SDK. Include this in a plugin. */
#ifndef SIMBI_SIMBI_H
#define SIMBI_SIMBI_H

#include "config.h"
#include "descriptor.h"
#include "diagnostic.h"
#include "entry.h"
#include "estimator.h"
#include "host.h"
#include "prior.h"
#include "rng.h"
#include "simulator.h"
#include "types.h"
#include "version.h"

#endif
