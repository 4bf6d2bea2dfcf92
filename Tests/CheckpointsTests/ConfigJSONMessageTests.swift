import Foundation
import Testing
@testable import Checkpoints

/// A config.json that is not JSON says so (Python's json.dump writes Infinity, which JSON lacks), and one
/// that is JSON but not an object says that (review 8, finding 16).
struct ConfigJSONMessageTests {
    @Test func infinityIsNamed() {
        let data = Data(#"{"vocab_size": 32000, "rope_theta": Infinity}"#.utf8)
        #expect(throws: CheckpointError.malformedConfig(path: "config.json", reason: "not valid JSON (it contains Infinity, which JSON has no literal for (RFC 8259); write a finite number)")) {
            try MixtralConfig(json: data, path: "config.json")
        }
    }

    @Test func anArrayIsNotAnObject() {
        #expect(throws: CheckpointError.malformedConfig(path: "config.json", reason: "not a JSON object")) {
            try MixtralConfig(json: Data("[1, 2]".utf8), path: "config.json")
        }
        #expect(throws: CheckpointError.malformedConfig(path: "config.json", reason: "not valid JSON")) {
            try MixtralConfig(json: Data("{oops".utf8), path: "config.json")
        }
    }
}
