import Offloading

/// How unevenly a recorded run's routing uses the experts of each layer: per layer, the fewest experts that
/// together take `share` of the layer's expert slots (prompt and decode). Even use of E experts needs ⌈share·E⌉;
/// a skewed router needs fewer, and then any expert cache looks better than it would on a balanced router.
func expertsTaking(_ share: Double, of run: RecordedRun, experts: Int) -> [Int] {
    let layers = run.forwards.first?.steps.count ?? 0
    var counts = [[Double]](repeating: [Double](repeating: 0, count: experts), count: layers)
    for forward in run.forwards {
        for step in forward.steps {
            for token in step.tokens { for e in token.experts { counts[step.layer][e] += 1 } }
        }
    }
    return counts.map { layer in
        let total = layer.reduce(0, +)
        var covered = 0.0, needed = 0
        for c in layer.sorted(by: >) where covered < share * total - 1e-9 { covered += c; needed += 1 }
        return needed
    }
}

/// "3, 4, 4 and 3" for a list of counts.
func spelledList(_ values: [Int]) -> String {
    let text = values.map(String.init)
    return text.count <= 1 ? text.joined() : text.dropLast().joined(separator: ", ") + " and " + text.last!
}
