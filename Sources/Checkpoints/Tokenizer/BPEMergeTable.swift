/// The merges of a BPE model as an open-addressing hash table: pair of token ids →
/// (rank, merged id). Looked up for every adjacent pair of every word, so it avoids `Dictionary`'s
/// SipHash: a multiplicative (Fibonacci) hash and linear probing over a power-of-two table at most
/// half full.
struct BPEMergeTable {
    private static let empty = UInt64.max
    private var keys: [UInt64]
    private var values: [UInt64]
    private let shift: UInt64

    /// A table with room for `count` merges.
    init(capacity count: Int) {
        var bits = 4
        while (1 << bits) < 2 * count { bits += 1 }
        keys = [UInt64](repeating: Self.empty, count: 1 << bits)
        values = [UInt64](repeating: 0, count: 1 << bits)
        shift = UInt64(64 - bits)
    }

    private static func key(_ left: Int32, _ right: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
    }

    private func slot(of key: UInt64) -> Int { Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift) }

    /// Sets the merge of (left, right); a pair set twice keeps the later value.
    mutating func insert(left: Int32, right: Int32, rank: UInt32, mergedID: Int32) {
        let key = Self.key(left, right)
        let mask = keys.count - 1
        var slot = slot(of: key)
        while keys[slot] != Self.empty && keys[slot] != key { slot = (slot + 1) & mask }
        keys[slot] = key
        values[slot] = UInt64(rank) << 32 | UInt64(UInt32(bitPattern: mergedID))
    }

    /// (rank, merged id) of the pair, if it has a merge.
    func merge(_ left: Int32, _ right: Int32) -> (rank: UInt32, mergedID: Int32)? {
        let key = Self.key(left, right)
        let mask = keys.count - 1
        return keys.withUnsafeBufferPointer { keys in
            var slot = slot(of: key)
            while true {
                let found = keys[slot]
                if found == key {
                    let value = values[slot]
                    return (UInt32(truncatingIfNeeded: value >> 32), Int32(bitPattern: UInt32(truncatingIfNeeded: value)))
                }
                if found == Self.empty { return nil }
                slot = (slot + 1) & mask
            }
        }
    }
}
