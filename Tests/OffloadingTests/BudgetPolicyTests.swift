import Testing
@testable import Offloading

/// Class 1 of issue #18: a budget is kept whatever the policy. `resident` keeps every expert of every
/// layer, so its budget must hold them all; otherwise the run is refused naming the minimum.
struct BudgetPolicyTests {
    // 100 resident + 10 session + 2 × 8 transient = 126 fixed; 4 layers × 8 experts × 8-byte slots
    private func budget(_ bytes: Int, _ policy: PolicySpec) throws -> RAMBudget {
        try RAMBudget(budget: bytes, residentBytes: 100, sessionBytes: 10, expertBytes: 8, numLayers: 4, numExperts: 8,
                      topK: 2, policy: policy)
    }

    @Test func residentUnderABudgetForFewerSlotsIsRefusedNamingTheMinimum() {
        #expect(throws: ExpertStoreError.budgetTooSmall(budget: 126 + 3 * 32, minimum: 126 + 8 * 32,
            breakdown: "resident weights 100 B + KV cache and scratch 10 B + 2 transient expert buffers × 8 B + 8 slots × 4 layers × 8 B; --policy resident keeps all 8 experts of every layer")) {
            try budget(126 + 3 * 32, .resident)
        }
        #expect(throws: ExpertStoreError.self) { try budget(126 + 8 * 32 - 1, .resident) }
    }

    @Test func residentRunsWhenEveryExpertFits() throws {
        let exact = try budget(126 + 8 * 32, .resident)
        #expect(exact.slotsPerLayer == 8 && exact.usedBytes <= exact.budget && exact.minimumBytes == 126 + 8 * 32)
        #expect(try budget(1 << 20, .resident).slotsPerLayer == 8)
    }

    @Test(arguments: [PolicySpec.lru, .lfu, .staticPrompt])
    func cachingPoliciesNeedOneSlot(_ policy: PolicySpec) throws {
        let small = try budget(126 + 3 * 32, policy)
        #expect(small.slotsPerLayer == 3 && small.usedBytes <= small.budget && small.minimumBytes == 126 + 32)
        #expect(throws: ExpertStoreError.self) { try budget(126 + 32 - 1, policy) }
    }

    @Test func theBudgetIsNeverExceeded() throws {
        for bytes in stride(from: 126 + 32, through: 126 + 10 * 32, by: 7) {
            for policy in [PolicySpec.lru, .resident] {
                guard let accounting = try? budget(bytes, policy) else { continue }
                #expect(accounting.usedBytes <= bytes)
                #expect(accounting.slotsPerLayer >= accounting.requiredSlotsPerLayer)
            }
        }
    }
}
