/// A binary min-heap of candidate merges for one word, ordered by merge rank and then by position
/// (the leftmost pair first), as tokenizers orders `Merge` in `models/bpe/word.rs`.
struct BPEMergeQueue {
    struct Entry {
        /// `rank << 32 | position`: smaller is merged first.
        var key: UInt64
        /// The token the merge produces; a queued entry is stale if the pair now merges to another.
        var mergedID: Int32

        var rank: UInt32 { UInt32(truncatingIfNeeded: key >> 32) }
        var position: Int { Int(UInt32(truncatingIfNeeded: key)) }
    }

    private var heap: [Entry] = []

    init(capacity: Int) { heap.reserveCapacity(capacity) }

    mutating func push(rank: UInt32, position: Int, mergedID: Int32) {
        heap.append(Entry(key: UInt64(rank) << 32 | UInt64(position), mergedID: mergedID))
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].key < heap[parent].key else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> Entry? {
        guard let top = heap.first else { return nil }
        let last = heap.removeLast()
        if !heap.isEmpty {
            heap[0] = last
            var parent = 0
            while true {
                let left = 2 * parent + 1, right = left + 1
                var smallest = parent
                if left < heap.count && heap[left].key < heap[smallest].key { smallest = left }
                if right < heap.count && heap[right].key < heap[smallest].key { smallest = right }
                if smallest == parent { break }
                heap.swapAt(parent, smallest)
                parent = smallest
            }
        }
        return top
    }
}
