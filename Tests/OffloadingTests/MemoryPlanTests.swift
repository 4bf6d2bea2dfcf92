import Testing
import Offloading
import Quantization

/// `plan`'s arithmetic on the real Mixtral shapes.
struct MemoryPlanTests {
    @Test func mixtral8x7bHasTheKnownParameterCounts() throws {
        let footprint = ModelFootprint(config: MixtralShapes.mixtral8x7B, precision: PrecisionSpec(uniform: .bf16))
        let total = footprint.parametersByClass.values.reduce(0, +)
        // 46.7 B weights (Mistral AI's Mixtral announcement; norms excluded here)
        #expect(abs(Double(total) / 1e9 - 46.70) < 0.01)
        // one expert: 3 · 4096 · 14336 weights, 2 bytes each at bf16
        #expect(footprint.largestExpertBytes == 3 * 4096 * 14336 * 2)
        #expect(footprint.expertParameters == 176_160_768)
    }

    @Test func bitsPerWeightSetTheExpertSize() throws {
        let q4 = ModelFootprint(config: MixtralShapes.mixtral8x7B, precision: PrecisionSpec(uniform: .q4))
        #expect(q4.largestExpertBytes == 176_160_768 * 9 / 16)
        let nf4dq = ModelFootprint(config: MixtralShapes.mixtral8x7B, precision: PrecisionSpec(uniform: .nf4dq))
        #expect(abs(Double(nf4dq.largestExpertBytes) * 8 / 176_160_768 - 4.127) < 0.001)
    }

    @Test func aSixteenGigabyteLaptopCachesFourExpertsPerLayerAtFourBits() throws {
        let plan = MemoryPlan(config: MixtralShapes.mixtral8x7B, precision: PrecisionSpec(uniform: .q4), hardware: .laptop16GBNVMe,
                              fastBytes: 16 << 30, reserveBytes: 2 << 30, contextTokens: 4096)
        #expect(plan.kvCacheBytes == 1 << 30)
        #expect(!plan.fitsResident && plan.runnable)
        // 14 GiB usable − resident ≈ 1.8 GiB leaves room for 4 slots × 32 layers × 94.5 MiB
        #expect(plan.cacheExperts == 4)
        #expect(plan.uniformHitRate == 0.5)
        let estimates = plan.estimates(hitRate: 0.5)
        #expect(estimates.map(\.kind) == [.stream, .demandCache, .perfectPrefetch])
        // more hits, faster; prefetch never slower than demand fetching at the same hit rate
        #expect(estimates[0].tokensPerSecond < estimates[1].tokensPerSecond)
        #expect(estimates[1].tokensPerSecond <= estimates[2].tokensPerSecond)
    }

    @Test func whatFitsResidentNeedsNoOffloading() throws {
        let plan = MemoryPlan(config: MixtralShapes.mixtral8x7B, precision: PrecisionSpec(uniform: .int8), hardware: .a100_80g,
                              reserveBytes: 1 << 30, contextTokens: 4096)
        #expect(plan.fitsResident && plan.cacheExperts == 8)
        #expect(plan.estimates(hitRate: 0.5).first?.kind == .resident)
    }

    @Test func unknownShapesAreRefused() throws {
        #expect(throws: OffloadingError.unknownModelShape("mixtral-8x99b", known: ["mixtral-8x7b", "mixtral-8x22b"])) {
            try MixtralShapes.named("mixtral-8x99b")
        }
    }
}
