#ifndef TESSERA_SHIMS_H
#define TESSERA_SHIMS_H
// Umbrella header: every symbol here carries the `tessera_` prefix.
#include "tessera_cms.h"
#include "tessera_net.h"
#include "tessera_ssl.h"
#include "tessera_thread.h"
#endif
