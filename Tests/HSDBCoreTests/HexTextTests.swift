import HSDBCore
import XCTest

final class HexTextTests: XCTestCase {
    func testLowercaseHexOfEveryByteValue() {
        XCTAssertEqual([UInt8]().lowercaseHex, "")
        XCTAssertEqual([0x00, 0x0f, 0xa5, 0xff].lowercaseHex, "000fa5ff")
        let all = (0...255).map(UInt8.init)
        XCTAssertEqual(all.lowercaseHex, all.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined())
    }
}
