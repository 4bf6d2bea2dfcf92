import Testing
import Foundation
import TestSupport
@testable import mixtral_lab
import Quantization

/// `--precisions` (compare, bench, quant-error, chart quant-error) goes through one parser: an empty list,
/// an empty entry or a repeated precision is refused, naming the flag, before any model is loaded.
struct PrecisionListTests {
    @Test(arguments: [
        (["compare", "--precisions", ""], "--precisions is empty"),
        (["compare", "--precisions", " , "], "--precisions is empty"),
        (["compare", "--precisions", "int8,,q4"], "--precisions \"int8,,q4\": entry 2 is empty"),
        (["compare", "--precisions", "int8,q4,"], "entry 3 is empty"),
        (["compare", "--precisions", "q4,q4"], "--precisions \"q4,q4\": q4 is given twice"),
        (["compare", "--precisions", "q4;attn=q4,experts=q4,embed=q4,head=q4"], "attn=q4,experts=q4,embed=q4,head=q4 repeats q4 (the same precisions)"),
        (["bench", "--precisions", ""], "--precisions is empty"),
        (["bench", "--precisions", "int8,q4,int8"], "int8 is given twice"),
        (["quant-error", "--precisions", "int8,,q4"], "entry 2 is empty"),
        (["quant-error", "--precisions", "nf4,nf4"], "nf4 is given twice"),
        (["quant-error", "--precisions", "q5"], "--precisions q5: "),
        (["quant-error", "--precisions", "attn=int8,experts=q4"], "not a per-class spec"),
    ])
    func aBadListIsRefusedNamingTheFlag(arguments: [String], expected: String) {
        let result = failure(arguments)
        #expect(result?.code == 2)
        #expect(result?.message.contains(expected) == true, "\(arguments): \(result?.message ?? "no error")")
    }

    @Test func chartQuantErrorRefusesARepeatBeforeMakingItsFolder() throws {
        try withTemporaryDirectory("precision-list") { folder in
            let out = folder.appendingPathComponent("charts")
            let result = failure(["chart", "quant-error", "--precisions", "q4,q4", "--out", out.path])
            #expect(result?.code == 2)
            #expect(result?.message == "--precisions \"q4,q4\": q4 is given twice; give each precision once")
            #expect(!FileManager.default.fileExists(atPath: out.path))
        }
    }

    @Test func commasSeparatePrecisionsAndSemicolonsSetAPerClassSpecApart() throws {
        let specs = try parsePrecisionList(" int8 , q4;attn=int8,experts=nf4")
        #expect(specs == [PrecisionSpec(uniform: .int8), PrecisionSpec(uniform: .q4),
                          PrecisionSpec([.attention: .int8, .experts: .nf4])])
        #expect(try parseSinglePrecisionList("int8,q4,nf4-dq") == [.int8, .q4, .nf4dq])
    }
}
