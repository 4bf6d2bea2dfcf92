import Testing
import Quantization
@testable import Offloading

/// `--cache-experts` and `--cache-bytes` turned into slots per layer.
struct CacheSizeTests {
    @Test func expertCountIsUsedAsGivenAndCheckedAgainstTheModel() throws {
        let footprint = tinyFootprint(layers: 2, experts: 4)
        #expect(try CacheSize.experts(0).slots(for: footprint) == 0)
        #expect(try CacheSize.experts(4).slots(for: footprint) == 4)
        #expect(throws: OffloadingError.invalidSetting(flag: "--cache-experts",
                                                       reason: "5 slots per layer, but the model has 4 experts per layer; give 0…4")) {
            try CacheSize.experts(5).slots(for: footprint)
        }
        #expect(throws: OffloadingError.self) { try CacheSize.experts(-1).slots(for: footprint) }
        #expect(try CacheSize.halfTheExperts.slots(for: footprint) == 2)
    }

    @Test func descriptionsAgreeTheNounWithTheCount() {
        #expect(CacheSize.experts(1).description == "1 expert per layer")
        #expect(CacheSize.experts(2).description == "2 experts per layer")
        #expect(counted(1, "miss", plural: "misses") == "1 miss")
        #expect(counted(0, "miss", plural: "misses") == "0 misses")
    }

    @Test func byteBudgetHoldsMoreExpertsAtFewerBits() throws {
        let fp32 = ModelFootprint(config: MixtralShapes.mixtral8x7B, precision: PrecisionSpec(uniform: .fp32))
        let q4 = ModelFootprint(config: MixtralShapes.mixtral8x7B, precision: PrecisionSpec(uniform: .q4))
        let budget = 32 * fp32.largestExpertBytes          // one fp32 expert per layer (32 layers)
        #expect(try CacheSize.bytes(budget).slots(for: fp32) == 1)
        // q4 experts are 4.5/32 of the fp32 size: 7 fit where one fp32 expert does, capped at 8.
        #expect(try CacheSize.bytes(budget).slots(for: q4) == 7)
        #expect(try CacheSize.bytes(budget - 1).slots(for: fp32) == 0)
        #expect(try CacheSize.bytes(Int(1) << 50).slots(for: q4) == 8)
    }
}
