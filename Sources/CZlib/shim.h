#ifndef HSDB_CZLIB_SHIM_H
#define HSDB_CZLIB_SHIM_H
#include <zlib.h>
#endif
