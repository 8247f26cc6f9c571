// What `import HSDB` brings: the engine, plus the core value types its API uses.
@_exported import struct HSDBCore.CorruptionError
@_exported import struct HSDBCore.IOError
@_exported import enum HSDBCore.JSONValue
@_exported import typealias HSDBCore.Payload
@_exported import enum HSDBCore.PointID
@_exported import struct HSDBCore.SparseVector
@_exported import enum HSDBCore.SparseVectorError
@_exported import enum Index.Metric
@_exported import enum WAL.DurabilityMode
@_exported import class WAL.WALStatistics
@_exported import struct WAL.WALRetentionPolicy
@_exported import struct HSDBCore.JSONParser
@_exported import struct HSDBCore.JSONParseError
@_exported import struct HSDBCore.JSONTextWriter
@_exported import struct WAL.WALEntry
@_exported import struct WAL.WALRecordType
@_exported import struct WAL.WALTailReader
