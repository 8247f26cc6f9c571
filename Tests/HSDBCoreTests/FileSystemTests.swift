#if canImport(Glibc)
import Glibc
#endif
import Foundation
import HSDBCore
import HSDBTestSupport
import XCTest

/// The file layer's contract, checked on the real file system and on the fault-injecting model.
func put(_ file: any File, _ bytes: [UInt8], at offset: Int64) throws {
    try bytes.withUnsafeBytes { try file.write($0, at: offset) }
}

final class FileSystemTests: XCTestCase {
    func temporaryDirectory() throws -> String {
        let path = NSTemporaryDirectory() + "hsdb-fs-" + UUID().uuidString
        try POSIXFileSystem().createDirectories(path)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    func exerciseBasics(_ fs: any FileSystem, _ dir: String) throws {
        let path = dir + "/a.bin"
        let f = try fs.open(path, mode: .createNew)
        try put(f, [1, 2, 3, 4], at: 0)
        try put(f, [9], at: 6)
        XCTAssertEqual(try f.size(), 7)
        try f.sync()
        try f.truncate(to: 2)
        try f.close()
        XCTAssertEqual(try fs.readFile(path), [1, 2])
        XCTAssertThrowsError(try fs.open(path, mode: .createNew)) { XCTAssertEqual(($0 as? IOError)?.errno, EEXIST) }
        XCTAssertThrowsError(try fs.open(dir + "/missing", mode: .readOnly)) { XCTAssertEqual(($0 as? IOError)?.errno, ENOENT) }
        try fs.writeFileAtomically(dir + "/b.bin", bytes: [5, 6])
        XCTAssertEqual(try fs.readFile(dir + "/b.bin"), [5, 6])
        XCTAssertEqual(try fs.mapReadOnly(dir + "/b.bin").withBytes { Array($0) }, [5, 6])
        try fs.createDirectories(dir + "/x/y")
        try fs.rename(dir + "/b.bin", to: dir + "/x/y/c.bin")
        XCTAssertEqual(try fs.listDirectory(dir), ["a.bin", "x"])
        try fs.removeTree(dir + "/x")
        XCTAssertFalse(fs.directoryExists(dir + "/x"))
        let lock = try fs.lockExclusive(dir + "/LOCK")
        XCTAssertThrowsError(try fs.lockExclusive(dir + "/LOCK")) { XCTAssertEqual(($0 as? IOError)?.errno, EWOULDBLOCK) }
        lock.unlock()
        try fs.lockExclusive(dir + "/LOCK").unlock()
    }

    func testPOSIXFileSystem() throws {
        try exerciseBasics(POSIXFileSystem(), try temporaryDirectory())
    }

    func testFaultInjectingFileSystemHasTheSameContract() throws {
        let fs = FaultInjectingFileSystem()
        try fs.createDirectories("/db")
        try exerciseBasics(fs, "/db")
    }

    func testPowerLossForgetsUnsyncedBytes() throws {
        let fs = FaultInjectingFileSystem()
        try fs.createDirectories("/db")
        let f = try fs.open("/db/log", mode: .createNew)
        try fs.syncDirectory("/db")
        try put(f, [1, 2, 3], at: 0)
        try f.sync()
        try put(f, [4, 5], at: 3)
        fs.simulatePowerLoss()
        XCTAssertEqual(try fs.readFile("/db/log"), [1, 2, 3])
        XCTAssertThrowsError(try f.sync(), "a handle from before the crash is dead")
    }

    func testPowerLossForgetsEntriesWithoutDirectorySync() throws {
        let fs = FaultInjectingFileSystem()
        try fs.createDirectories("/db")
        // A file written and synced, but its directory never synced, vanishes.
        let f = try fs.open("/db/unsynced-entry", mode: .createNew)
        try put(f, [1], at: 0)
        try f.sync()
        // A rename without a directory sync is undone.
        let g = try fs.open("/db/old", mode: .createNew)
        try g.sync()
        try fs.syncDirectory("/db")
        try fs.remove("/db/unsynced-entry")  // (removal not synced either: comes back)
        try fs.rename("/db/old", to: "/db/new")
        fs.simulatePowerLoss()
        XCTAssertEqual(try fs.listDirectory("/db"), ["old", "unsynced-entry"])
    }

    func testRenameWithDirectorySyncSurvivesPowerLoss() throws {
        let fs = FaultInjectingFileSystem()
        try fs.createDirectories("/db")
        try fs.writeFileAtomically("/db/manifest", bytes: [1])
        try fs.writeFileAtomically("/db/manifest", bytes: [2])
        fs.simulatePowerLoss()
        XCTAssertEqual(try fs.readFile("/db/manifest"), [2])
    }

    func testInjectedFaults() throws {
        let fs = FaultInjectingFileSystem()
        try fs.createDirectories("/db")
        let f = try fs.open("/db/x", mode: .createNew)
        fs.inject(.init(.write, nth: 2, errno: ENOSPC))
        try put(f, [1], at: 0)
        XCTAssertThrowsError(try put(f, [2], at: 1)) { XCTAssertEqual(($0 as? IOError)?.errno, ENOSPC) }
        try put(f, [3], at: 1)
        fs.clearFaults()
        fs.inject(.init(.write, nth: 1, tornPrefixBytes: 2))
        XCTAssertThrowsError(try put(f, [7, 8, 9], at: 2))
        XCTAssertEqual(try fs.readFile("/db/x"), [1, 3, 7, 8], "a torn write leaves its prefix")
        fs.inject(.init(.sync, nth: nil))
        XCTAssertThrowsError(try f.sync())
        XCTAssertThrowsError(try f.sync())
        try fs.flipBit("/db/x", byteOffset: 0, bit: 1)
        XCTAssertEqual(try fs.readFile("/db/x")[0], 3)
    }
}
