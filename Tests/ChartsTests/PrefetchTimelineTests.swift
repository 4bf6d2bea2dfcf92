import Testing
@testable import Charts

/// `TransferTimeline` tells prefetches (reads ahead, reddish purple) from demand transfers (misses, orange),
/// and names the prefetch in its legend only when the timeline has one.
struct PrefetchTimelineTests {
    let metadata = PNGMetadata(title: "prefetch", description: "test", source: "hand-made")

    /// Whether some pixel of `image` below its title and legend (the top quarter) has exactly `color` (bars
    /// are filled flat; anti-aliased edges are not).
    private func contains(_ image: RGBAImage, _ color: Color) -> Bool {
        let (r, g, b) = (UInt8((color.red * 255).rounded()), UInt8((color.green * 255).rounded()), UInt8((color.blue * 255).rounded()))
        return stride(from: image.width * (image.height / 4) * 4, to: image.pixels.count, by: 4).contains { i in
            image.pixels[i] == r && image.pixels[i + 1] == g && image.pixels[i + 2] == b
        }
    }

    @Test func prefetchesAreDrawnApartFromDemandTransfers() throws {
        let compute = TimelineEvent(token: 0, layer: 0, kind: .compute, startMicroseconds: 0, durationMicroseconds: 100)
        let prefetch = TimelineEvent(token: 0, layer: 1, kind: .prefetch, startMicroseconds: 0, durationMicroseconds: 80)
        let demand = TimelineEvent(token: 0, layer: 0, kind: .transfer, startMicroseconds: 0, durationMicroseconds: 80)

        let onlyPrefetch = TransferTimeline(metadata: metadata, events: [compute, prefetch])
        #expect(onlyPrefetch.legend.map(\.label).contains("prefetch (read ahead for a later layer)"))
        let prefetchImage = try renderImage(onlyPrefetch, width: 800, height: 500)
        #expect(contains(prefetchImage, .reddishPurple) && !contains(prefetchImage, .orange))

        let onlyDemand = TransferTimeline(metadata: metadata, events: [compute, demand])
        #expect(onlyDemand.legend.map(\.label) == ["compute", "expert transfer", "stall (compute waits for a transfer)",
                                                    "cache hit (1 expert)", "cache miss (1 expert)"])
        let demandImage = try renderImage(onlyDemand, width: 800, height: 500)
        #expect(contains(demandImage, .orange) && !contains(demandImage, .reddishPurple))
    }
}
