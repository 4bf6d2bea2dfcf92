/// A tokenizer.json `post_processor` of type TemplateProcessing, for single sequences only
/// (tokenizers, `processors/template.rs`): its `single` template is special tokens before and after
/// `$A`. The Hub's Mixtral file has `single: [<s>, $A]`, which is how BOS gets added.
struct TemplateProcessing {
    /// Ids the template puts before and after the text's ids.
    let prefixIDs: [Int]
    let suffixIDs: [Int]

    /// A template putting `prefixIDs` before and `suffixIDs` after the text's ids.
    init(prefixIDs: [Int], suffixIDs: [Int]) {
        self.prefixIDs = prefixIDs
        self.suffixIDs = suffixIDs
    }

    /// Reads `post_processor`. Throws `TokenizerError.unknownType` for another processor type and
    /// `.invalidValue` for a single template without exactly one `$A` sequence or naming a special
    /// token missing from `special_tokens`. The pair template is not used (one text at a time).
    init(json: TokenizerJSON) throws {
        let type = try json.string("type")
        guard type == "TemplateProcessing" else {
            throw TokenizerError.unknownType(source: json.source, keyPath: json.path("type"), type: type,
                                             supported: ["TemplateProcessing"])
        }
        let specialTokens = try json.object("special_tokens")
        var prefix: [Int] = [], suffix: [Int] = []
        var sawSequence = false
        for (index, item) in try json.objects("single").enumerated() {
            if let special = try item.optionalObject("SpecialToken") {
                let name = try special.string("id")
                guard !specialTokens.isNull(name) else {
                    throw json.invalid("single[\(index)]", "special token \"\(name)\" is not in special_tokens")
                }
                let ids = try specialTokens.object(name).array("ids").enumerated().map { position, value in
                    guard let id = value as? Int, id >= 0 else {
                        throw specialTokens.invalid("\(name).ids[\(position)]", "expected a token id")
                    }
                    return id
                }
                if sawSequence { suffix += ids } else { prefix += ids }
            } else if let sequence = try item.optionalObject("Sequence") {
                guard try sequence.string("id") == "A", !sawSequence else {
                    throw json.invalid("single[\(index)]", "a single template has one sequence, $A")
                }
                sawSequence = true
            } else {
                throw json.invalid("single[\(index)]", "expected {\"SpecialToken\": …} or {\"Sequence\": …}")
            }
        }
        guard sawSequence else { throw json.invalid("single", "template without $A") }
        self.init(prefixIDs: prefix, suffixIDs: suffix)
    }

    func apply(to ids: [Int]) -> [Int] { prefixIDs + ids + suffixIDs }
}
