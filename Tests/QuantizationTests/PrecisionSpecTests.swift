import Testing
@testable import Quantization

@Test func singlePrecisionAppliesToAllClassesButTheRouter() throws {
    let spec = try PrecisionSpec(parsing: "q4")
    for tensorClass in TensorClass.allCases {
        #expect(spec.precision(for: tensorClass) == (tensorClass == .router ? .fp32 : .q4))
    }
    #expect(spec.description == "q4")
    #expect(try PrecisionSpec(parsing: "nf4-dq").precision(for: .experts) == .nf4dq)
}

@Test func perClassSpecsLeaveUnnamedClassesAtFP32() throws {
    let text = "attn=int8,experts=nf4,router=fp32,embed=fp32,head=int8"
    let spec = try PrecisionSpec(parsing: text)
    #expect(spec.precision(for: .attention) == .int8)
    #expect(spec.precision(for: .experts) == .nf4)
    #expect(spec.precision(for: .head) == .int8)
    #expect(spec.description == text)
    #expect(try PrecisionSpec(parsing: spec.description) == spec)

    let partial = try PrecisionSpec(parsing: "experts=q4")
    #expect(partial.precision(for: .experts) == .q4)
    #expect(partial.precision(for: .attention) == .fp32 && partial.precision(for: .router) == .fp32)

    let mixed = try PrecisionSpec(parsing: "q4, router=int8")
    #expect(mixed.precision(for: .router) == .int8 && mixed.precision(for: .embedding) == .q4)
}

@Test func badSpecsAreErrorsNamingTheProblem() {
    #expect(throws: PrecisionSpecError.empty) { try PrecisionSpec(parsing: "") }
    #expect(throws: PrecisionSpecError.unknownPrecision("q5", spec: "q5")) { try PrecisionSpec(parsing: "q5") }
    #expect(throws: PrecisionSpecError.unknownTensorClass("mlp", spec: "mlp=q4")) { try PrecisionSpec(parsing: "mlp=q4") }
    #expect(throws: PrecisionSpecError.duplicateClass("attn", spec: "attn=q4,attn=int8")) { try PrecisionSpec(parsing: "attn=q4,attn=int8") }
    #expect(throws: PrecisionSpecError.twoDefaults(spec: "q4,int8")) { try PrecisionSpec(parsing: "q4,int8") }
    #expect(throws: PrecisionSpecError.malformedItem("a=b=c", spec: "a=b=c")) { try PrecisionSpec(parsing: "a=b=c") }
    #expect(PrecisionSpecError.unknownPrecision("q5", spec: "q5").description.contains("fp32|bf16|f16|int8|q4|nf4|nf4-dq"))
}

@Test func tensorNamesMapToClasses() {
    let cases: [(String, TensorClass?)] = [
        ("model.layers.3.self_attn.q_proj.weight", .attention),
        ("model.layers.3.self_attn.o_proj.weight", .attention),
        ("model.layers.0.block_sparse_moe.experts.7.w2.weight", .experts),
        ("model.layers.0.block_sparse_moe.gate.weight", .router),
        ("model.embed_tokens.weight", .embedding),
        ("lm_head.weight", .head),
        ("model.layers.0.input_layernorm.weight", nil),
        ("model.norm.weight", nil),
        ("blk.0.attn_q.weight", .attention),
        ("blk.0.ffn_gate_exps.weight", .experts),
        ("blk.0.ffn_gate_inp.weight", .router),
        ("token_embd.weight", .embedding),
        ("output.weight", .head),
        ("output_norm.weight", nil),
    ]
    for (name, expected) in cases { #expect(TensorClass(tensorName: name) == expected, "\(name)") }
}

@Test func anUnknownPrecisionListsTheCalibratedOnesForTheExpertsOnly() {
    let message = PrecisionSpecError.unknownPrecision("q3", spec: "q3").description
    let general = message.components(separatedBy: "; for the experts also ")
    #expect(general.count == 2)
    #expect(general[0].contains("q4|nf4") && !general[0].contains("gptq4") && !general[0].contains("awq4"))
    #expect(general[1] == "experts=gptq4|experts=awq4")
}
