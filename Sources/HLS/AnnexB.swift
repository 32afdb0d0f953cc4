import FLV

/// H.264 and H.265 in FLV are AVCC/HVCC (each NAL unit prefixed by its length, parameter sets kept in the
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
        accessUnit(units, type: { $0 & 0x1F }, aud: accessUnitDelimiter, audType: NALUnitType.aud,
                   isRandomAccess: { $0 == NALUnitType.idr }, spsType: NALUnitType.sps,
                   parameterSets: configuration.sequenceParameterSets + configuration.pictureParameterSets)
    }

    /// H.265 NAL unit types (H.265 Table 7-1).
    public enum HEVCNALUnitType {
        /// BLA_W_LP ... RSV_IRAP_VCL23: intra random access point pictures.
        public static let irap: ClosedRange<UInt8> = 16...23
        public static let vps: UInt8 = 32
        public static let sps: UInt8 = 33
        public static let pps: UInt8 = 34
        public static let aud: UInt8 = 35
    }

    /// AUD_NUT (35), layer 0, temporal id 1; pic_type 2 (I, P or B slices), then the stop bit.
    static let hevcAccessUnitDelimiter: [UInt8] = [0x46, 0x01, 0x50]

    /// The same for H.265 (HEVC in MPEG-TS, ISO/IEC 13818-1 2.17): AUD type 35 first, and
    /// the record's VPS, SPS and PPS before an IRAP picture that has no in-band SPS.
    public static func accessUnit(_ units: [ArraySlice<UInt8>], hevc configuration: HEVCDecoderConfigurationRecord) -> [UInt8] {
        let parameterSets = configuration.units(ofType: HEVCNALUnitType.vps) + configuration.units(ofType: HEVCNALUnitType.sps)
            + configuration.units(ofType: HEVCNALUnitType.pps)
        return accessUnit(units, type: { $0 >> 1 & 0x3F }, aud: hevcAccessUnitDelimiter, audType: HEVCNALUnitType.aud,
                          isRandomAccess: { HEVCNALUnitType.irap.contains($0) }, spsType: HEVCNALUnitType.sps,
                          parameterSets: parameterSets)
    }

    private static func accessUnit(_ units: [ArraySlice<UInt8>], type: (UInt8) -> UInt8, aud: [UInt8], audType: UInt8,
                                   isRandomAccess: (UInt8) -> Bool, spsType: UInt8, parameterSets: [[UInt8]]) -> [UInt8] {
        let types = units.map { $0.first.map(type) ?? 0xFF }
        let needsParameterSets = types.contains(where: isRandomAccess) && !types.contains(spsType)
        var size = 4 + aud.count + units.reduce(0) { $0 + 4 + $1.count }
        if needsParameterSets { size += parameterSets.reduce(0) { $0 + 4 + $1.count } }
        var out = [UInt8]()
        out.reserveCapacity(size)
        var rest = units[...]
        if types.first == audType {
            out += startCode
            out += rest.removeFirst()
        } else {
            out += startCode + aud
        }
        if needsParameterSets {
            for ps in parameterSets {
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
