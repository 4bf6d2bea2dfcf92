import Testing
@testable import Engine

/// `checkFinite`: the first NaN or infinity of a block's output, by position.
struct FiniteCheckTests {
    private func check(_ values: [Float], width: Int, first: Int = 10) -> EngineError? {
        do {
            try checkFinite(values, rows: values.count / width, width: width, firstPosition: first, place: .attention(layer: 2))
            return nil
        } catch { return error as? EngineError }
    }

    @Test func finiteValuesPass() {
        #expect(check([0, -1, .greatestFiniteMagnitude, -.greatestFiniteMagnitude, .leastNonzeroMagnitude, -0.0], width: 3) == nil)
    }

    @Test func theFirstNonFiniteValueIsPlacedByItsRow() {
        #expect(check([1, 2, 3, 4, .infinity, 6, .nan, 8], width: 2) == .nonFinite(place: .attention(layer: 2), position: 12, value: .infinity))
        #expect(check([1, 2, 3, -.infinity], width: 4, first: 0) == .nonFinite(place: .attention(layer: 2), position: 0, value: -.infinity))
    }

    @Test func aNaNIsFound() {
        guard case .nonFinite(_, let position, let value)? = check([1, 2, 3, 4, 5, .nan], width: 3) else {
            Issue.record("no error"); return
        }
        #expect(position == 11 && value.isNaN)
    }

    @Test func theMessageNamesPlaceAndPosition() {
        let error = EngineError.nonFinite(place: .experts(layer: 3), position: 7, value: .infinity)
        #expect(error.description.hasPrefix("the model's numbers left fp32's range: inf in the residual stream after layer 3's mixture-of-experts block at position 7,"))
        #expect(ForwardPlace.embedding.description == "after the token embedding")
        #expect(ForwardPlace.head.description == "of the logits (LM head)")
    }
}
