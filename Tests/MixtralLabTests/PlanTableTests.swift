import Testing
@testable import mixtral_lab

/// `plan`'s table of precision mixes keeps its columns apart when a mix does not fit (`--ram 0`: none does).
struct PlanTableTests {
    @Test func aMixThatDoesNotFitKeepsItsColumns() throws {
        let command = try #require(try MixtralLab.parseAsRoot(["plan", "--model", "mixtral-8x7b", "--ram", "0"]) as? Plan)
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
}
