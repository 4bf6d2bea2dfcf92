import Foundation
import FileChecks

/// A chart: plain data plus how to draw it. Each chart kind is a value type in its own file.
public protocol Chart: Sendable {
    /// Title (drawn at the top) and the PNG text chunks.
    var metadata: PNGMetadata { get }
    /// Draws the whole chart, or a "No data" chart when there is nothing finite to show.
    func draw(on canvas: ChartCanvas)
}

/// Default chart size in pixels (width, height).
public let defaultChartSize = (width: 1600, height: 1000)

/// Renders `chart` into RGBA pixels. Throws `ChartError.invalidSize` or `.cairoFailed`.
public func renderImage(_ chart: some Chart, width: Int = defaultChartSize.width,
                        height: Int = defaultChartSize.height) throws -> RGBAImage {
    let canvas = try ChartCanvas(width: width, height: height)
    chart.draw(on: canvas)
    return canvas.rgbaImage()
}

/// Renders `chart` to PNG bytes with its metadata as text chunks; the same chart always gives the same
/// bytes. Throws `ChartError.invalidSize`, `.cairoFailed` or `.encodingFailed`.
public func renderPNGData(_ chart: some Chart, width: Int = defaultChartSize.width,
                          height: Int = defaultChartSize.height) throws -> Data {
    try renderImage(chart, width: width, height: height).pngData(metadata: chart.metadata)
}

/// The refusals of `writePNG`, for commands that check their chart files before they start the work
/// the charts show: nothing when `url` is free (or a regular file and `overwrite` is true).
/// - Throws: `ChartError.fileExists` (a file, without `overwrite`), `.notARegularFile` (anything else).
public func checkChartFile(_ url: URL, overwrite: Bool) throws {
    switch outputFileRefusal(url.path, overwrite: overwrite) {
    case nil: break
    case .exists: throw ChartError.fileExists(path: url.path)
    case .isAFolder: throw ChartError.notARegularFile(path: url.path, kind: FileKind.folder.description)
    case .notARegularFile(let kind): throw ChartError.notARegularFile(path: url.path, kind: kind.description)
    }
}

/// Renders `chart` and writes it as a PNG file at `url`.
///
/// Refuses to replace an existing file unless `overwrite` is true (`ChartError.fileExists` naming the
/// path), and anything but a regular file even then (`.notARegularFile`, `outputFileRefusal`); also throws what `renderPNGData` throws, and `ChartError.writeFailed` when the file cannot be
/// written. Lists the file in its folder's run manifest (`RunManifest.created`; throws its error).
public func writePNG(_ chart: some Chart, to url: URL, width: Int = defaultChartSize.width,
                     height: Int = defaultChartSize.height, overwrite: Bool = false) throws {
    try checkChartFile(url, overwrite: overwrite)
    let data = try renderPNGData(chart, width: width, height: height)
    do {
        try data.write(to: url, options: overwrite ? [.atomic] : [.withoutOverwriting])
    } catch {
        if !overwrite && FileManager.default.fileExists(atPath: url.path) {
            throw ChartError.fileExists(path: url.path)
        }
        throw ChartError.writeFailed(path: url.path, reason: error.localizedDescription)
    }
    try RunManifest.created(url)
}
