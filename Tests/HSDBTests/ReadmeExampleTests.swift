import Foundation
import XCTest

/// The README's embedded example is the source of the EmbeddedExample target, checked byte
/// for byte here, and the built example is run: the README cannot go stale.
final class ReadmeExampleTests: XCTestCase {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func testReadmeExampleIsTheBuiltExample() throws {
        let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
        let source = try String(contentsOf: root.appendingPathComponent("Sources/EmbeddedExample/EmbeddedExample.swift"), encoding: .utf8)
        let start = try XCTUnwrap(readme.range(of: "<!-- embedded-example -->\n```swift\n"), "README lacks the embedded example block")
        let end = try XCTUnwrap(readme.range(of: "```", range: start.upperBound..<readme.endIndex))
        XCTAssertEqual(String(readme[start.upperBound..<end.lowerBound]), source, "README example differs from Sources/EmbeddedExample")
    }

    func testExampleRuns() throws {
        let dir = NSTemporaryDirectory() + "hsdb-example-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for run in 0..<2 {  // the second run reopens and finds the collection
            let p = Process()
            p.executableURL = productsDirectory.appendingPathComponent("EmbeddedExample")
            p.arguments = [dir]
            let out = Pipe()
            p.standardOutput = out
            try p.run()
            let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            XCTAssertEqual(p.terminationStatus, 0, "run \(run)")
            XCTAssertEqual(text, "nearest: id 1, title \"Sleeping cats\"\npoints: 2\n", "run \(run)")
        }
    }
}
