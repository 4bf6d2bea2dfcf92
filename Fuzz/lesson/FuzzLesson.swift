import Foundation
import FuzzSupport
import Lessons

/// libFuzzer target: the input is a lesson file (front matter YAML, prose, lab blocks with their YAML
/// parameters, placeholders), parsed and checked against the experiment catalogue as `lesson check` does.
/// The file is named `N-fuzz.md` after the input's first `id:` line, so that an input whose id differs
/// from the file's number still reaches the parts after the front matter.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzLesson(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = fuzzInput(data, size)
    let idLine = String(decoding: input.prefix(4096), as: UTF8.self).split(separator: "\n").first { $0.hasPrefix("id:") }
    let number = idLine.flatMap { Int($0.dropFirst(3).trimmingCharacters(in: .whitespaces)) }.map { min(max($0, 0), 999) } ?? 1
    let url = ScratchFiles.write(input, to: "\(number)-fuzz.md")
    _ = try? LessonParser.parse(file: url)
    try? FileManager.default.removeItem(at: url)
    return 0
}
