import FLV

/// RFC 6381 codec names, as MSE's isTypeSupported/addSourceBuffer and HLS CODECS want them.
enum CodecString {
    static func video(_ c: VideoConfiguration) -> String {
        switch c {
        case .avc(let r, _):
            // avc1.PPCCLL: profile_idc, constraint flags, level_idc (from the SPS they mirror).
            return "avc1." + hex2(r.profile) + hex2(r.profileCompatibility) + hex2(r.level)
        case .hevc(let r, _):
            // ISO/IEC 14496-15 E.3: space letter + profile, compatibility flags bit-reversed,
            // tier + level, constraint bytes without trailing zeros.
            let space = ["", "A", "B", "C"][Int(r.generalProfileSpace)]
            var flags = r.generalProfileCompatibilityFlags
            var reversed: UInt32 = 0
            for _ in 0..<32 {
                reversed = reversed << 1 | flags & 1
                flags >>= 1
            }
            var constraints = r.generalConstraintIndicatorFlags
            while constraints.last == 0 { constraints.removeLast() }
            var s = "hvc1.\(space)\(r.generalProfileIDC).\(String(reversed, radix: 16, uppercase: true))"
            s += ".\(r.generalTierFlag ? "H" : "L")\(r.generalLevelIDC)"
            for b in constraints { s += "." + String(b, radix: 16, uppercase: true) }
            return s
        case .av1(let r, _):
            // AV1 binding, Codecs Parameter String: av01.P.LLT.DD
            let level = r.seqLevelIdx0 < 10 ? "0\(r.seqLevelIdx0)" : "\(r.seqLevelIdx0)"
            let depth = r.bitDepth < 10 ? "0\(r.bitDepth)" : "\(r.bitDepth)"
            return "av01.\(r.seqProfile).\(level)\(r.seqTier0 ? "H" : "M").\(depth)"
        }
    }

    static func audio(_ c: AudioConfiguration) -> String {
        switch c {
        case .aac(let config, _): "mp4a.40.\(config.objectType)"
        case .opus: "opus"
        }
    }

    private static func hex2(_ b: UInt8) -> String {
        let s = String(b, radix: 16)
        return s.count == 1 ? "0" + s : s
    }
}
