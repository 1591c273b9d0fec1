#ifndef TESSERA_CPOSTGRES_SHIM_H
#define TESSERA_CPOSTGRES_SHIM_H
#include <postgresql/libpq-fe.h>
#endif
