#ifndef HSDB_CRC32C_H
#define HSDB_CRC32C_H
#include <stddef.h>
#include <stdint.h>

/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78) of `len` bytes, continuing from `crc`
/// (0 to start). Uses the SSE4.2 crc32 instruction when the CPU has it, chosen once at run
/// time, otherwise a portable slice-by-8 table. crc32c("123456789") == 0xE3069283.
uint32_t hsdb_crc32c(uint32_t crc, const void *data, size_t len);

/// 1 when the hardware path is in use.
int hsdb_crc32c_hardware(void);

#endif
