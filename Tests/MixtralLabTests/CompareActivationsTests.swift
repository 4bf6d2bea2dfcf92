import Foundation
import Testing
@testable import mixtral_lab

/// `compare --activations q8` says which activations the int8/q4 products used, and uses them.
@Suite struct CompareActivationsTests {
    private func compare(_ flags: [String]) throws -> String {
        try compareOutput(["--precisions", "q4", "--max-tokens", "2", "--heldout-tokens", "0"] + flags)
    }

    @Test func tableNamesTheActivations() throws {
        #expect(try compare([]).contains("\nactivations: fp32 (int8/q4/hqq errors are the weights' alone"))
        #expect(try compare(["--activations", "q8"]).contains("\nactivations: q8 — int8/q4/hqq products on activations rounded to 8 bits"))
    }

    @Test func jsonNamesTheActivationsAndQ4ResultsDependOnThem() throws {
        func run(_ activations: String) throws -> (String?, Double?) {
            let json = try compare(["--activations", activations, "--format", "json"])
            let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
            let q4 = (object["results"] as? [[String: Any]])?.first { $0["precision"] as? String == "q4" }
            return (object["activations"] as? String, q4?["mean_kl"] as? Double)
        }
        let (fp32Name, fp32KL) = try run("fp32")
        let (q8Name, q8KL) = try run("q8")
        #expect(fp32Name == "fp32" && q8Name == "q8")
        #expect(fp32KL != nil && q8KL != nil && fp32KL != q8KL)
    }
}
