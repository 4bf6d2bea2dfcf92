import Foundation

/// A one-line progress bar on standard error, shown only once the work has taken more than a second and
/// only when standard error is a terminal.
final class Progress {
    private let label: String
    private let started = Date()
    private var shown = false
    private let interactive = isatty(STDERR_FILENO) == 1

    init(label: String) { self.label = label }

    func update(_ done: Int, of total: Int) {
        guard interactive, Date().timeIntervalSince(started) > 1 else { return }
        shown = true
        let width = 30
        let filled = total > 0 ? width * done / total : width
        let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
        send("\r\(label) \(bar) \(done)/\(total)", to: .error)
    }

    func finish() {
        if shown { send("\r\u{1B}[K", to: .error) }
    }
}
