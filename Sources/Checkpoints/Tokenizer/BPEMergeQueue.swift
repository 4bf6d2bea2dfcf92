/// A binary min-heap of candidate merges for one word, keyed `rank << 32 | position`: the lowest
/// merge rank first, the leftmost position on ties — the order of tokenizers' `Merge` in
/// `models/bpe/word.rs`.
struct BPEMergeQueue {
    private var heap: [UInt64]

    /// A heap of `keys`, built bottom-up in O(n).
    init(heapifying keys: [UInt64]) {
        heap = keys
        heap.withUnsafeMutableBufferPointer { buffer in
            var parent = buffer.count / 2
            while parent > 0 {
                parent -= 1
                Self.siftDown(buffer, from: parent)
            }
        }
    }

    static func key(rank: UInt32, position: Int) -> UInt64 { UInt64(rank) << 32 | UInt64(position) }

    mutating func push(rank: UInt32, position: Int) {
        heap.append(Self.key(rank: rank, position: position))
        heap.withUnsafeMutableBufferPointer { buffer in
            var child = buffer.count - 1
            let key = buffer[child]
            while child > 0 {
                let parent = (child - 1) / 2
                guard key < buffer[parent] else { break }
                buffer[child] = buffer[parent]
                child = parent
            }
            buffer[child] = key
        }
    }

    /// The smallest (rank, position), removed from the queue.
    mutating func pop() -> (rank: UInt32, position: Int)? {
        guard let top = heap.first else { return nil }
        let last = heap.removeLast()
        if !heap.isEmpty {
            heap.withUnsafeMutableBufferPointer { buffer in
                buffer[0] = last
                Self.siftDown(buffer, from: 0)
            }
        }
        return (UInt32(truncatingIfNeeded: top >> 32), Int(UInt32(truncatingIfNeeded: top)))
    }

    private static func siftDown(_ buffer: UnsafeMutableBufferPointer<UInt64>, from start: Int) {
        let count = buffer.count
        let key = buffer[start]
        var parent = start
        while true {
            var child = 2 * parent + 1
            guard child < count else { break }
            if child + 1 < count && buffer[child + 1] < buffer[child] { child += 1 }
            guard buffer[child] < key else { break }
            buffer[parent] = buffer[child]
            parent = child
        }
        buffer[parent] = key
    }
}
