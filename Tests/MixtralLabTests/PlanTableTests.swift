import Testing
@testable import mixtral_lab

/// `plan`'s table of precision mixes keeps its columns apart when a mix does not fit (`--ram 2100MiB`, 52 MiB
/// usable after the 2 GiB reserve: none does); a memory that leaves nothing after the reserve is refused.
struct PlanTableTests {
    @Test func aMixThatDoesNotFitKeepsItsColumns() throws {
        let command = try #require(try MixtralLab.parseAsRoot(["plan", "--model", "mixtral-8x7b", "--ram", "2100MiB"]) as? Plan)
        var lines: [String] = []
        try command.run(printing: { lines.append($0) })
        let header = try #require(lines.firstIndex { $0.hasPrefix("precision ") && $0.hasSuffix("est. tok/s") })
        let rows = lines[(header + 1)...].prefix { !$0.isEmpty }
        #expect(rows.count == Plan.candidateSpecs.count)
        for row in rows {
            #expect(row.count == lines[header].count, "\(row)")
            // slots, hit rate and estimate columns, each right-aligned with room to spare
            #expect(row.hasSuffix("      -         -  does not fit"), "\(row)")
        }
    }

    @Test(arguments: [["--ram", "0"], ["--ram", "1KiB"], ["--ram", "2GiB"], ["--vram", "1GiB"]])
    func aMemoryThatLeavesNothingAfterTheReserveIsRefused(flags: [String]) throws {
        let command = try #require(try MixtralLab.parseAsRoot(["plan", "--model", "mixtral-8x7b"] + flags) as? Plan)
        #expect(throws: (any Error).self) { try command.run(printing: { _ in }) }
        let result = failure(["plan", "--model", "mixtral-8x7b"] + flags)
        #expect(result?.code == 2)
        #expect(result?.message.contains("\(flags[0]) ") == true && result?.message.contains("leaves nothing after --reserve") == true, "\(result?.message ?? "no error")")
    }
}
