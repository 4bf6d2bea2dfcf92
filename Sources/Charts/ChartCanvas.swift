import CCairo
import Foundation

/// A point in pixels, y pointing down.
struct Point: Equatable {
    var x: Double
    var y: Double
}

/// An axis-aligned rectangle in pixels, y pointing down.
struct Rect: Equatable {
    var x: Double
    var y: Double
    var width: Double
    var height: Double

    var minX: Double { x }
    var maxX: Double { x + width }
    var minY: Double { y }
    var maxY: Double { y + height }
    var midX: Double { x + width / 2 }
    var midY: Double { y + height / 2 }
}

/// Text size and weight. Sizes are in pixels for a 1600×1000 chart and scale with the canvas.
struct Font: Equatable {
    var size: Double
    var bold = false

    static let title = Font(size: 32, bold: true)
    static let axisLabel = Font(size: 23)
    static let tick = Font(size: 19)
    static let legend = Font(size: 20)
    static let annotation = Font(size: 16)
    static let noData = Font(size: 44, bold: true)
}

/// Where a text's anchor point sits on its box: `x` 0 = left edge, 0.5 = centre, 1 = right edge;
/// `y` 0 = top (ascent), 0.5 = middle, 1 = bottom (descent).
struct TextAnchor: Equatable {
    var x: Double
    var y: Double

    static let center = TextAnchor(x: 0.5, y: 0.5)
    static let left = TextAnchor(x: 0, y: 0.5)
    static let right = TextAnchor(x: 1, y: 0.5)
    static let top = TextAnchor(x: 0.5, y: 0)
    static let bottom = TextAnchor(x: 0.5, y: 1)
}

/// Marker shapes for line series; distinct shapes keep series apart without relying on colour.
enum MarkerShape: CaseIterable {
    case circle, square, triangle, diamond, invertedTriangle

    static func forSeries(_ index: Int) -> MarkerShape { allCases[index % allCases.count] }
}

/// A cairo ARGB32 image surface with the drawing operations the charts use: filled and stroked shapes,
/// hatching, markers and DejaVu Sans text (anti-aliased, unhinted so the output does not depend on
/// fontconfig hinting settings).
///
/// Lengths passed in are for a 1600×1000 canvas; `unit` scales them for other sizes.
public final class ChartCanvas {
    /// Size in pixels.
    public let width: Int
    public let height: Int
    /// Scale of fonts and line widths relative to a 1600×1000 canvas.
    let unit: Double
    private let surface: OpaquePointer
    private let cairo: OpaquePointer

    /// Creates a canvas painted opaque white. Throws `ChartError.invalidSize` or `.cairoFailed`.
    init(width: Int, height: Int) throws {
        guard (1...16384).contains(width), (1...16384).contains(height) else {
            throw ChartError.invalidSize(width: width, height: height)
        }
        guard let surface = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, Int32(width), Int32(height)) else {
            throw ChartError.cairoFailed(status: "cairo_image_surface_create returned nil")
        }
        let status = cairo_surface_status(surface)
        guard status == CAIRO_STATUS_SUCCESS, let cairo = cairo_create(surface) else {
            let text = String(cString: cairo_status_to_string(status))
            cairo_surface_destroy(surface)
            throw ChartError.cairoFailed(status: text)
        }
        self.width = width
        self.height = height
        self.unit = max(0.4, min(Double(width) / 1600, Double(height) / 1000))
        self.surface = surface
        self.cairo = cairo

        let options = cairo_font_options_create()
        cairo_font_options_set_antialias(options, CAIRO_ANTIALIAS_GRAY)
        cairo_font_options_set_hint_style(options, CAIRO_HINT_STYLE_NONE)
        cairo_font_options_set_hint_metrics(options, CAIRO_HINT_METRICS_OFF)
        cairo_set_font_options(cairo, options)
        cairo_font_options_destroy(options)
        cairo_set_antialias(cairo, CAIRO_ANTIALIAS_GRAY)

        fill(Rect(x: 0, y: 0, width: Double(width), height: Double(height)), .white)
    }

    deinit {
        cairo_destroy(cairo)
        cairo_surface_destroy(surface)
    }

    var bounds: Rect { Rect(x: 0, y: 0, width: Double(width), height: Double(height)) }

    // MARK: Shapes

    private func setColor(_ color: Color) {
        cairo_set_source_rgba(cairo, color.red, color.green, color.blue, color.alpha)
    }

    private func setStroke(width: Double, dash: [Double]) {
        cairo_set_line_width(cairo, width * unit)
        let scaled = dash.map { $0 * unit }
        cairo_set_dash(cairo, scaled, Int32(scaled.count), 0)
    }

    func fill(_ rect: Rect, _ color: Color) {
        setColor(color)
        cairo_rectangle(cairo, rect.x, rect.y, rect.width, rect.height)
        cairo_fill(cairo)
    }

    func stroke(_ rect: Rect, _ color: Color, width: Double = 1) {
        setColor(color)
        setStroke(width: width, dash: [])
        cairo_rectangle(cairo, rect.x, rect.y, rect.width, rect.height)
        cairo_stroke(cairo)
    }

    /// A line from `a` to `b`; `dash` lengths (on, off, …) are in 1600×1000 pixels.
    func line(from a: Point, to b: Point, _ color: Color, width: Double = 1, dash: [Double] = []) {
        polyline([a, b], color, width: width, dash: dash)
    }

    /// A vertical error bar at `x` from `y0` to `y1` (pixels) with a horizontal cap `capWidth` wide at each end.
    func errorBar(x: Double, from y0: Double, to y1: Double, capWidth: Double, _ color: Color = .ink) {
        line(from: Point(x: x, y: y0), to: Point(x: x, y: y1), color, width: 2)
        for y in [y0, y1] {
            line(from: Point(x: x - capWidth / 2, y: y), to: Point(x: x + capWidth / 2, y: y), color, width: 2)
        }
    }

    func polyline(_ points: [Point], _ color: Color, width: Double = 1, dash: [Double] = []) {
        guard let first = points.first, points.count > 1 else { return }
        setColor(color)
        setStroke(width: width, dash: dash)
        cairo_set_line_join(cairo, CAIRO_LINE_JOIN_ROUND)
        cairo_move_to(cairo, first.x, first.y)
        for point in points.dropFirst() { cairo_line_to(cairo, point.x, point.y) }
        cairo_stroke(cairo)
    }

    /// A closed filled polygon.
    func fillPolygon(_ points: [Point], _ color: Color) {
        guard let first = points.first, points.count > 2 else { return }
        setColor(color)
        cairo_move_to(cairo, first.x, first.y)
        for point in points.dropFirst() { cairo_line_to(cairo, point.x, point.y) }
        cairo_close_path(cairo)
        cairo_fill(cairo)
    }

    /// Runs `body` with drawing limited to `rect` (data that falls outside a fixed axis range).
    func clipped(to rect: Rect, _ body: () -> Void) {
        cairo_save(cairo)
        cairo_rectangle(cairo, rect.x, rect.y, rect.width, rect.height)
        cairo_clip(cairo)
        body()
        cairo_restore(cairo)
    }

    /// Fills `rect` with `background` and diagonal stripes of `color` (used for stalls).
    func hatch(_ rect: Rect, _ color: Color, background: Color, spacing: Double = 9) {
        fill(rect, background)
        cairo_save(cairo)
        cairo_rectangle(cairo, rect.x, rect.y, rect.width, rect.height)
        cairo_clip(cairo)
        setColor(color)
        setStroke(width: 2, dash: [])
        let step = spacing * unit
        var x = rect.minX - rect.height
        while x < rect.maxX {
            cairo_move_to(cairo, x, rect.maxY)
            cairo_line_to(cairo, x + rect.height, rect.minY)
            x += step
        }
        cairo_stroke(cairo)
        cairo_restore(cairo)
    }

    /// A filled marker centred on `center`; `size` is its width in 1600×1000 pixels.
    func marker(_ shape: MarkerShape, at center: Point, size: Double, _ color: Color) {
        let r = size * unit / 2
        switch shape {
        case .circle:
            setColor(color)
            cairo_new_sub_path(cairo)
            cairo_arc(cairo, center.x, center.y, r, 0, 2 * Double.pi)
            cairo_fill(cairo)
        case .square:
            fill(Rect(x: center.x - r * 0.9, y: center.y - r * 0.9, width: 1.8 * r, height: 1.8 * r), color)
        case .triangle:
            fillPolygon([Point(x: center.x, y: center.y - 1.15 * r), Point(x: center.x + 1.1 * r, y: center.y + 0.85 * r),
                         Point(x: center.x - 1.1 * r, y: center.y + 0.85 * r)], color)
        case .invertedTriangle:
            fillPolygon([Point(x: center.x, y: center.y + 1.15 * r), Point(x: center.x + 1.1 * r, y: center.y - 0.85 * r),
                         Point(x: center.x - 1.1 * r, y: center.y - 0.85 * r)], color)
        case .diamond:
            fillPolygon([Point(x: center.x, y: center.y - 1.25 * r), Point(x: center.x + 1.25 * r, y: center.y),
                         Point(x: center.x, y: center.y + 1.25 * r), Point(x: center.x - 1.25 * r, y: center.y)], color)
        }
    }

    // MARK: Text

    private func setFont(_ font: Font) {
        cairo_select_font_face(cairo, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL,
                               font.bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL)
        cairo_set_font_size(cairo, font.size * unit)
    }

    /// Ascent and descent of `font` in pixels (the same for every text, so baselines line up).
    private func lineMetrics(_ font: Font) -> (ascent: Double, descent: Double) {
        setFont(font)
        var extents = cairo_font_extents_t()
        cairo_font_extents(cairo, &extents)
        return (extents.ascent, extents.descent)
    }

    /// Width (advance) and line height (ascent + descent) of `text` in pixels.
    func measure(_ text: String, _ font: Font) -> (width: Double, height: Double) {
        let metrics = lineMetrics(font)
        var extents = cairo_text_extents_t()
        cairo_text_extents(cairo, text, &extents)
        return (extents.x_advance, metrics.ascent + metrics.descent)
    }

    /// Line height of `font` in pixels.
    func lineHeight(_ font: Font) -> Double {
        let metrics = lineMetrics(font)
        return metrics.ascent + metrics.descent
    }

    /// Draws `text` so that `anchor` of its box lands on `point`, rotated by `degrees` counter-clockwise
    /// about that point.
    func text(_ text: String, at point: Point, _ font: Font, color: Color = .ink,
              anchor: TextAnchor = .center, degrees: Double = 0) {
        let size = measure(text, font)
        let ascent = lineMetrics(font).ascent
        cairo_save(cairo)
        cairo_translate(cairo, point.x, point.y)
        cairo_rotate(cairo, -degrees * Double.pi / 180)
        setColor(color)
        cairo_move_to(cairo, -anchor.x * size.width, ascent - anchor.y * size.height)
        cairo_show_text(cairo, text)
        cairo_restore(cairo)
    }

    /// `text` shortened with "…" so that it is at most `maxWidth` pixels wide.
    func truncated(_ text: String, _ font: Font, maxWidth: Double) -> String {
        guard measure(text, font).width > maxWidth else { return text }
        var characters = Array(text)
        while !characters.isEmpty, measure(String(characters) + "…", font).width > maxWidth {
            characters.removeLast()
        }
        return String(characters) + "…"
    }

    // MARK: Output

    /// The canvas as 8-bit RGBA rows. cairo stores premultiplied ARGB32 in native byte order (B, G, R, A
    /// on little-endian machines); the charts paint an opaque background, so alpha is 255 and the
    /// un-premultiplying branch only runs for pixels that are not opaque.
    func rgbaImage() -> RGBAImage {
        cairo_surface_flush(surface)
        let stride = Int(cairo_image_surface_get_stride(surface))
        let data = cairo_image_surface_get_data(surface)!
        var pixels = [UInt8](repeating: 0, count: width * height * 4)
        pixels.withUnsafeMutableBufferPointer { out in
            for y in 0..<height {
                let row = UnsafeRawPointer(data + y * stride).assumingMemoryBound(to: UInt32.self)
                for x in 0..<width {
                    let argb = row[x]
                    let a = UInt32(truncatingIfNeeded: argb >> 24)
                    var r = (argb >> 16) & 0xFF, g = (argb >> 8) & 0xFF, b = argb & 0xFF
                    if a != 255 && a != 0 {
                        r = (r * 255 + a / 2) / a
                        g = (g * 255 + a / 2) / a
                        b = (b * 255 + a / 2) / a
                    }
                    let o = (y * width + x) * 4
                    out[o] = UInt8(truncatingIfNeeded: r)
                    out[o + 1] = UInt8(truncatingIfNeeded: g)
                    out[o + 2] = UInt8(truncatingIfNeeded: b)
                    out[o + 3] = UInt8(truncatingIfNeeded: a)
                }
            }
        }
        return RGBAImage(width: width, height: height, pixels: pixels)
    }
}
