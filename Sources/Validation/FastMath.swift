/// The two transcendental functions this module needs (exponential waiting times, decay
/// weights). The standard library has none and the module imports neither Foundation nor a
/// C math library, so they are computed here from the binary representation; accurate to a
/// few ulps over the ranges used (tests compare them with known values).
enum FastMath {
    static let ln2 = 0.693_147_180_559_945_309_417_232_121_458

    /// Natural logarithm of a positive finite number.
    static func ln(_ x: Double) -> Double {
        precondition(x > 0 && x.isFinite, "ln of \(x)")
        // x = m × 2^e with m in [1, 2); fold m into [√½, √2) so the series below converges fast.
        var m = x.significand
        var e = Double(x.exponent)
        if m > 1.414_213_562_373_095_1 { m /= 2; e += 1 }
        // ln(m) = 2·atanh(z), z = (m−1)/(m+1), |z| < 0.172: z² < 0.03, 14 terms reach 1e-21.
        let z = (m - 1) / (m + 1)
        let z2 = z * z
        var term = z, sum = 0.0, k = 1.0
        for _ in 0..<14 {
            sum += term / k
            term *= z2
            k += 2
        }
        return 2 * sum + e * ln2
    }

    /// 2^x. Underflows to 0 below 2^-1074 and saturates to infinity above 2^1024.
    static func exp2(_ x: Double) -> Double {
        if x.isNaN { return x }
        if x < -1074 { return 0 }
        if x >= 1024 { return .infinity }
        let n = floor(x)
        // 2^f = e^(f·ln2), f in [0, 1): the Taylor series for y < 0.7 needs 20 terms for 1e-17.
        let y = (x - n) * ln2
        var term = 1.0, sum = 1.0
        for k in 1...20 {
            term *= y / Double(k)
            sum += term
        }
        // sum is in [1, 2): scaling by 2^n in one step also gives subnormal results exactly.
        return Double(sign: .plus, exponent: Int(n), significand: sum)
    }

    // `rounded(.down)`/`.up` call libm's floor and ceil, which a Foundation-free executable
    // does not link on Linux; these are exact for |x| < 2^62, all this module needs.
    static func floor(_ x: Double) -> Double {
        let t = Double(Int64(x))
        return t > x ? t - 1 : t
    }

    static func ceil(_ x: Double) -> Double {
        let t = Double(Int64(x))
        return t < x ? t + 1 : t
    }
}
