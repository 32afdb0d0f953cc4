import FLV

/// H.264 in FLV is AVCC (each NAL unit prefixed by its length, parameter sets kept in the
/// decoder configuration record); MPEG-TS wants Annex-B: start codes, an access unit
/// delimiter first, and the SPS/PPS in the stream before each IDR picture so a player can
/// start at any segment.
public enum AnnexB {
    static let startCode: [UInt8] = [0, 0, 0, 1]
    /// nal_unit_type 9, primary_pic_type 7 (any slice type), then the stop bit.
    static let accessUnitDelimiter: [UInt8] = [0x09, 0xF0]

    public enum NALUnitType {
        public static let idr: UInt8 = 5
        public static let sps: UInt8 = 7
        public static let pps: UInt8 = 8
        public static let aud: UInt8 = 9
    }

    /// The NAL units of an AVCC payload, each announced by a `lengthSize`-byte big-endian
    /// length. Zero-length units are dropped; a length running past the end throws
    /// (`offset` is counted from the start of `avcc`).
    public static func nalUnits(avcc: ArraySlice<UInt8>, lengthSize: Int) throws(HLSError) -> [ArraySlice<UInt8>] {
        var units: [ArraySlice<UInt8>] = []
        var at = avcc.startIndex
        while at < avcc.endIndex {
            let offset = at - avcc.startIndex
            guard avcc.endIndex - at >= lengthSize else {
                throw .truncatedNALUnit(offset: offset, needed: lengthSize, available: avcc.endIndex - at)
            }
            var length = 0
            for i in 0..<lengthSize { length = length << 8 | Int(avcc[at + i]) }
            at += lengthSize
            guard length <= avcc.endIndex - at else {
                throw .truncatedNALUnit(offset: offset, needed: lengthSize + length, available: avcc.endIndex - at + lengthSize)
            }
            if length > 0 { units.append(avcc[at..<(at + length)]) }
            at += length
        }
        return units
    }

    /// One access unit in Annex-B: an AUD (unless the first unit is one), the SPS and PPS
    /// right after it when the unit holds an IDR slice but no in-band SPS, then the units, all
    /// with 4-byte start codes. Parameter sets go before any SEI, the order H.264 7.4.1.2.3
    /// gives (a buffering-period SEI refers to the SPS).
    public static func accessUnit(_ units: [ArraySlice<UInt8>], configuration: AVCDecoderConfigurationRecord) -> [UInt8] {
        let types = units.map { $0.first.map { $0 & 0x1F } ?? 0 }
        let needsParameterSets = types.contains(NALUnitType.idr) && !types.contains(NALUnitType.sps)
        var size = 6 + units.reduce(0) { $0 + 4 + $1.count }
        if needsParameterSets {
            size += (configuration.sequenceParameterSets + configuration.pictureParameterSets).reduce(0) { $0 + 4 + $1.count }
        }
        var out = [UInt8]()
        out.reserveCapacity(size)
        var rest = units[...]
        if types.first == NALUnitType.aud {
            out += startCode
            out += rest.removeFirst()
        } else {
            out += startCode + accessUnitDelimiter
        }
        if needsParameterSets {
            for ps in configuration.sequenceParameterSets + configuration.pictureParameterSets {
                out += startCode
                out += ps
            }
        }
        for unit in rest {
            out += startCode
            out += unit
        }
        return out
    }
}
