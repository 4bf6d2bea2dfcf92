import Foundation

/// An sRGB colour with components in 0…1.
public struct Color: Sendable, Equatable {
    public var red: Double
    public var green: Double
    public var blue: Double
    public var alpha: Double

    public init(red: Double, green: Double, blue: Double, alpha: Double = 1) {
        self.red = red
        self.green = green
        self.blue = blue
        self.alpha = alpha
    }

    /// A colour from a 24-bit `0xRRGGBB` value.
    public init(hex: UInt32, alpha: Double = 1) {
        self.init(red: Double((hex >> 16) & 0xFF) / 255,
                  green: Double((hex >> 8) & 0xFF) / 255,
                  blue: Double(hex & 0xFF) / 255,
                  alpha: alpha)
    }

    /// The same colour with another opacity.
    public func withAlpha(_ alpha: Double) -> Color {
        Color(red: red, green: green, blue: blue, alpha: alpha)
    }

    /// Relative luminance (WCAG 2.x, sRGB linearised); used to pick black or white text on a fill.
    var luminance: Double {
        func linear(_ c: Double) -> Double { c <= 0.04045 ? c / 12.92 : pow((c + 0.055) / 1.055, 2.4) }
        return 0.2126 * linear(red) + 0.7152 * linear(green) + 0.0722 * linear(blue)
    }

    /// Black or white, whichever reads better on top of this colour.
    var contrastingText: Color { luminance > 0.3 ? .black : .white }

    public static let white = Color(hex: 0xFFFFFF)
    public static let black = Color(hex: 0x000000)
    /// Text and axis lines.
    static let ink = Color(hex: 0x222222)
    /// Grid lines behind the data.
    static let grid = Color(hex: 0xE3E3E3)
    /// Secondary text (notes, "No data").
    static let mutedInk = Color(hex: 0x666666)

    /// The Okabe–Ito colour-blind-safe palette (Okabe & Ito, "Color Universal Design", 2008):
    /// orange, sky blue, bluish green, yellow, blue, vermillion, reddish purple, black.
    public static let okabeIto: [Color] = [
        Color(hex: 0xE69F00), Color(hex: 0x56B4E9), Color(hex: 0x009E73), Color(hex: 0xF0E442),
        Color(hex: 0x0072B2), Color(hex: 0xD55E00), Color(hex: 0xCC79A7), Color(hex: 0x000000),
    ]

    /// Okabe–Ito colours in the order used for series: orange, blue, bluish green, reddish purple,
    /// vermillion, sky blue, black, yellow. The first four are four different hues (sky blue beside blue,
    /// or vermillion beside orange, are told apart only side by side); yellow (#F0E442) is left to the end
    /// because it is hard to see as a thin line on white.
    static let seriesPalette: [Color] = [0, 4, 2, 6, 5, 1, 7, 3].map { okabeIto[$0] }

    /// The colour of series `index`, cycling through `seriesPalette`.
    static func series(_ index: Int) -> Color { seriesPalette[index % seriesPalette.count] }

    static let orange = okabeIto[0]
    static let skyBlue = okabeIto[1]
    static let bluishGreen = okabeIto[2]
    static let blue = okabeIto[4]
    static let vermillion = okabeIto[5]
    static let reddishPurple = okabeIto[6]
}

/// The viridis colour map (perceptually uniform and colour-blind safe; van der Walt & Smith for matplotlib,
/// `matplotlib/_cm_listed.py`), as the 9 evenly spaced stops of R viridisLite's `viridis(9)`, linearly
/// interpolated between stops.
enum Viridis {
    private static let stops: [Color] = [
        Color(hex: 0x440154), Color(hex: 0x472D7B), Color(hex: 0x3B528B), Color(hex: 0x2C728E),
        Color(hex: 0x21908C), Color(hex: 0x27AD81), Color(hex: 0x5DC863), Color(hex: 0xAADC32),
        Color(hex: 0xFDE725),
    ]

    /// The colour at `t` in 0…1 (clamped).
    static func color(at t: Double) -> Color {
        let clamped = min(max(t.isNaN ? 0 : t, 0), 1)
        let position = clamped * Double(stops.count - 1)
        let index = min(Int(position), stops.count - 2)
        let f = position - Double(index)
        let a = stops[index], b = stops[index + 1]
        return Color(red: a.red + (b.red - a.red) * f,
                     green: a.green + (b.green - a.green) * f,
                     blue: a.blue + (b.blue - a.blue) * f)
    }
}
