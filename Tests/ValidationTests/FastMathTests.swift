@testable import Validation
import XCTest

final class FastMathTests: XCTestCase {
    func testLogarithmMatchesKnownValues() {
        let cases: [(Double, Double)] = [
            (1, 0), (2, 0.693_147_180_559_945_3), (10, 2.302_585_092_994_046), (0.5, -0.693_147_180_559_945_3),
            (1e-300, -690.775_527_898_213_7), (1e300, 690.775_527_898_213_7), (0x1p-53, -36.736_800_569_677_1),
            (1.414_213_562_373_095, 0.346_573_590_279_972_6), (123.456, 4.815_884_817_283_264),
        ]
        for (x, expected) in cases {
            XCTAssertEqual(FastMath.ln(x), expected, accuracy: max(1e-15, abs(expected) * 1e-15), "ln(\(x))")
        }
    }

    func testExp2MatchesKnownValues() {
        XCTAssertEqual(FastMath.exp2(0), 1)
        XCTAssertEqual(FastMath.exp2(1), 2)
        XCTAssertEqual(FastMath.exp2(-1), 0.5)
        XCTAssertEqual(FastMath.exp2(10), 1024)
        XCTAssertEqual(FastMath.exp2(0.5), 1.414_213_562_373_095, accuracy: 1e-15)
        XCTAssertEqual(FastMath.exp2(-2.5), 0.176_776_695_296_636_9, accuracy: 1e-16)
        XCTAssertEqual(FastMath.exp2(-1074), 0x1p-1074, "smallest subnormal")
        XCTAssertEqual(FastMath.exp2(-2000), 0)
        XCTAssertEqual(FastMath.exp2(2000), .infinity)
        for x in stride(from: -30.0, through: 30, by: 0.37) {
            XCTAssertEqual(FastMath.ln(FastMath.exp2(x)), x * FastMath.ln2, accuracy: 1e-12)
        }
    }

    func testFloorAndCeil() {
        XCTAssertEqual(FastMath.floor(2.5), 2)
        XCTAssertEqual(FastMath.floor(-2.5), -3)
        XCTAssertEqual(FastMath.floor(-3), -3)
        XCTAssertEqual(FastMath.ceil(2.1), 3)
        XCTAssertEqual(FastMath.ceil(-2.1), -2)
        XCTAssertEqual(FastMath.ceil(4), 4)
    }

    func testExponentialSamplesHaveTheirMean() {
        var rng = SeededRandom(seed: 42)
        let n = 200_000
        var sum = 0.0, below = 0
        for _ in 0..<n {
            let x = rng.exponential(rate: 2)
            sum += x
            if x < 0.5 { below += 1 }
        }
        XCTAssertEqual(sum / Double(n), 0.5, accuracy: 0.005)
        XCTAssertEqual(Double(below) / Double(n), 1 - 0.367_879_441, accuracy: 0.005, "P(X < mean) = 1 - 1/e")
    }

    func testSeededRandomIsReproducibleAndSeedSensitive() {
        var a = SeededRandom(seed: 7), b = SeededRandom(seed: 7), c = SeededRandom(seed: 8)
        let xs = (0..<5).map { _ in a.next() }
        XCTAssertEqual(xs, (0..<5).map { _ in b.next() })
        XCTAssertNotEqual(xs, (0..<5).map { _ in c.next() })
        var zero = SeededRandom(seed: 0)
        XCTAssertNotEqual(zero.next(), 0)
    }
}
