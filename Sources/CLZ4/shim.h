#ifndef HSDB_CLZ4_SHIM_H
#define HSDB_CLZ4_SHIM_H
#include <lz4.h>
#endif
