/// ⌊a × b / c⌋ and its remainder, exact through a 128-bit product (a pool of 10^12 minor
/// units times a weight of 10^13 is far past Int64). Callers guarantee a, b ≥ 0, c > 0 and
/// a × b / c ≤ Int64.max (e.g. b ≤ c), which is what makes the quotient fit.
func mulDiv(_ a: Int64, _ b: Int64, _ c: Int64) -> (quotient: Int64, remainder: Int64) {
    precondition(a >= 0 && b >= 0 && c > 0)
    let product = UInt64(a).multipliedFullWidth(by: UInt64(b))
    precondition(product.high < UInt64(c), "quotient does not fit")
    let (q, r) = UInt64(c).dividingFullWidth(product)
    precondition(q <= UInt64(Int64.max), "quotient does not fit")
    return (Int64(q), Int64(r))
}

/// ⌈a × b / c⌉ under the same conditions.
func mulDivCeil(_ a: Int64, _ b: Int64, _ c: Int64) -> Int64 {
    let (q, r) = mulDiv(a, b, c)
    return r == 0 ? q : q + 1
}

/// Node ids (and every other id) are ordered by their UTF-8 bytes: the same order SQLite's
/// BINARY collation and any other language give, independent of Unicode tables.
func byteOrder(_ a: String, _ b: String) -> Bool { a.utf8.lexicographicallyPrecedes(b.utf8) }
