import Testing
import Foundation
import Checkpoints
import Engine
import Quantization
@testable import Offloading
import TestSupport

/// An expert store is never reused for a checkpoint whose bytes changed with its header unchanged (a
/// re-saved or fine-tuned model of the same shapes, written in place), nor served when its own
/// experts.bin changed: the manifest's stamps (`FileStamp`) differ and the store is rebuilt.
struct ExpertStoreIdentityTests {
    let scratch: TemporaryDirectory
    init() throws { scratch = try TemporaryDirectory("store-identity") }

    /// A copy of the bf16 fixture (8 experts, stored bf16, so fp32 runs need a store).
    private func copiedCheckpoint(_ name: String) throws -> URL {
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/bf16-8experts")
        let copy = scratch.url.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: copy.deletingLastPathComponent(), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: fixture, to: copy)
        return copy
    }

    /// Flips the sign of every expert weight of `checkpoint`'s model.safetensors in place (bf16: the top
    /// bit of each value's second byte), header untouched — the reviewer's edit.
    private func negateExperts(_ checkpoint: URL) throws {
        let file = checkpoint.appendingPathComponent("model.safetensors")
        var bytes = [UInt8](try Data(contentsOf: file))
        let headerLength = Int(bytes[0..<8].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) })
        let header = try JSONSerialization.jsonObject(with: Data(bytes[8..<(8 + headerLength)])) as! [String: Any]
        var changed = 0
        for (name, info) in header where name.contains(".experts.") {
            let entry = info as! [String: Any]
            #expect(entry["dtype"] as? String == "BF16")
            let offsets = (entry["data_offsets"] as! [Any]).map { ($0 as! NSNumber).intValue }
            for i in stride(from: 8 + headerLength + offsets[0] + 1, to: 8 + headerLength + offsets[1], by: 2) { bytes[i] ^= 0x80 }
            changed += 1
        }
        #expect(changed > 0)
        // in place: the same inode, written a clock tick or more after the build (file times are coarse)
        usleep(50_000)
        let handle = try FileHandle(forWritingTo: file)
        try handle.write(contentsOf: bytes)
        try handle.close()
    }

    /// Logits with the experts streamed from the store in `store` (built or rebuilt as a run would).
    private func streamedLogits(_ directory: URL, store: URL, rebuilding: (String) -> Void) throws -> [[UInt32]] {
        let checkpoint = try Checkpoint(directory: directory)
        let fp32 = PrecisionSpec(uniform: .fp32)
        #expect(try ExpertSource.inPlace(checkpoint, precision: fp32) == nil, "the fixture's bf16 experts need a store at fp32")
        let source = try ExpertStore.openOrBuild(store, checkpoint: checkpoint, precision: fp32, rebuilding: rebuilding)
        let provider = try DiskExpertProvider(source: source, policy: .lru, topK: checkpoint.config.numExpertsPerToken)
        let model = try MixtralModel(checkpoint: checkpoint, precision: fp32, experts: .streamed(provider))
        try provider.allocateSlots(perLayer: 2)
        return try greedyLogitBits(model, prompt: [1, 17, 42, 5, 23], steps: 3)
    }

    private func residentLogits(_ directory: URL) throws -> [[UInt32]] {
        try greedyLogitBits(MixtralModel(checkpoint: Checkpoint(directory: directory), precision: PrecisionSpec(uniform: .fp32)),
                        prompt: [1, 17, 42, 5, 23], steps: 3)
    }

    @Test func aCheckpointChangedInPlaceGetsItsStoreRebuilt() throws {
        let directory = try copiedCheckpoint("model")
        let store = scratch.url.appendingPathComponent("store")
        var reasons: [String] = []
        let before = try streamedLogits(directory, store: store) { reasons.append($0) }
        #expect(before == (try residentLogits(directory)))

        try negateExperts(directory)
        let changedResident = try residentLogits(directory)
        #expect(changedResident != before, "the edit changes the model")
        let after = try streamedLogits(directory, store: store) { reasons.append($0) }
        #expect(after == changedResident, "the streamed run uses the changed weights, not the stale store")
        #expect(reasons.count == 1 && reasons[0].contains("model.safetensors changed since the store was built"), "\(reasons)")
    }

    @Test func anExpertsFileChangedAfterItsBuildIsRefusedAndRebuilt() throws {
        let directory = try copiedCheckpoint("model")
        let checkpoint = try Checkpoint(directory: directory)
        let fp32 = PrecisionSpec(uniform: .fp32)
        let store = scratch.url.appendingPathComponent("store")
        _ = try ExpertStore.build(store, checkpoint: checkpoint, precision: fp32)
        let data = store.appendingPathComponent(ExpertStore.dataName)
        var bytes = [UInt8](try Data(contentsOf: data))
        for i in stride(from: 3, to: bytes.count, by: 4) { bytes[i] ^= 0x80 }   // every fp32 weight negated
        usleep(50_000)
        let handle = try FileHandle(forWritingTo: data)
        try handle.write(contentsOf: bytes)
        try handle.close()

        #expect { try ExpertStore.open(store, checkpoint: checkpoint, precision: fp32) } throws: { error in
            guard case ExpertStoreError.mismatch(_, let reason) = error else { return false }
            return reason.contains("experts.bin changed since the store was built")
        }
        var reasons: [String] = []
        #expect(try streamedLogits(directory, store: store) { reasons.append($0) } == (try residentLogits(directory)))
        #expect(reasons.count == 1 && reasons[0].contains("experts.bin changed"), "\(reasons)")
    }

    /// Two same-shaped checkpoints in folders of one name get a default store each.
    @Test func sameNamedFoldersGetTheirOwnDefaultStore() throws {
        let first = try Checkpoint(directory: try copiedCheckpoint("run1/final"))
        let second = try Checkpoint(directory: try copiedCheckpoint("run2/final"))
        #expect(try ExpertStore.modelIdentity(first) == ExpertStore.modelIdentity(second))
        let fp32 = PrecisionSpec(uniform: .fp32)
        let a = try ExpertStore.defaultDirectory(for: first, precision: fp32), b = try ExpertStore.defaultDirectory(for: second, precision: fp32)
        #expect(a != b && a.lastPathComponent.hasPrefix("final-") && b.lastPathComponent.hasPrefix("final-"))
    }
}
