// Tests that import the test support get the seeded generator with it.
@_exported import struct HSDBCore.SplitMix64
