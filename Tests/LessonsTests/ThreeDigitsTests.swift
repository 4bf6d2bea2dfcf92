import Testing
@testable import Lessons

/// Lesson 9's speeds keep three significant digits, trailing zeros included ("1.60" beside "1.94", not
/// "1.6"), and never switch to exponent notation.
struct ThreeDigitsTests {
    @Test func trailingZerosStayAndNoExponentAppears() {
        let cases: [(Double, String)] = [(1.6, "1.60"), (1.94, "1.94"), (0.0711, "0.0711"), (0.208, "0.208"), (12, "12.0"),
                                         (9.996, "10.0"), (0.09996, "0.100"), (123.4, "123"), (1234.6, "1230"), (0, "0")]
        for (value, text) in cases { #expect(FullSizeBenchmark.threeDigits(value) == text, "\(value)") }
    }
}
