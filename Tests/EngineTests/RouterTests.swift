import Testing
import Engine

@Suite struct RouterTests {
    @Test func tiesGoToTheLowerIndex() {
        let (experts, weights) = routeTopK(logits: [0.5, 2, 1, 2, 2], k: 2)
        #expect(experts == [1, 3])
        #expect(abs(weights[0] - 0.5) < 1e-7 && abs(weights[1] - 0.5) < 1e-7)
    }

    @Test func allEqualLogitsPickExpertsZeroAndOne() {
        let (experts, weights) = routeTopK(logits: [Float](repeating: 0.25, count: 8), k: 2)
        #expect(experts == [0, 1])
        #expect(weights == [0.5, 0.5])
    }

    @Test func weightsAreRenormalisedSoftmaxProbabilities() {
        let logits: [Float] = [1, 3, 2, 0]
        let (experts, weights) = routeTopK(logits: logits, k: 2)
        #expect(experts == [1, 2])
        let e3 = Float.exp(3), e2 = Float.exp(2)
        #expect(abs(weights[0] - e3 / (e3 + e2)) < 1e-6)
        #expect(abs(weights.reduce(0, +) - 1) < 1e-6)
    }

    @Test func numExpertsEqualToTopKUsesEveryExpert() {
        let (experts, _) = routeTopK(logits: [0.1, -3, 2], k: 3)
        #expect(Set(experts) == [0, 1, 2])
        #expect(experts == [2, 0, 1])
    }
}

extension Float {
    static func exp(_ x: Float) -> Float { Foundation.exp(x) }
}

import Foundation
