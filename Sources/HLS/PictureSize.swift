import FLV

/// The coded picture size after cropping: what an fMP4 init segment's tkhd and visual sample
/// entry give. Read from the H.264/H.265 SPS or the AV1 sequence header, since FLV metadata
/// is optional and not always right.
public struct PictureSize: Sendable, Hashable {
    public var width: Int
    public var height: Int

    public init(width: Int, height: Int) {
        self.width = width
        self.height = height
    }

    public init(_ configuration: VideoConfiguration) throws(HLSError) {
        do {
            switch configuration {
            case .avc(let record, _):
                guard let sps = record.sequenceParameterSets.first else { throw BitstreamError() }
                self = try Self.h264(sps: sps)
            case .hevc(let record, _):
                guard let sps = record.units(ofType: AnnexB.HEVCNALUnitType.sps).first else { throw BitstreamError() }
                self = try Self.h265(sps: sps)
            case .av1(let record, _):
                self = try Self.av1(obus: record.configOBUs)
            }
        } catch {
            throw .invalidSequenceParameters(configuration.codec)
        }
    }

    /// H.264 7.3.2.1.1 up to frame_cropping, with the crop units of Table 6-1.
    static func h264(sps nal: [UInt8]) throws(BitstreamError) -> PictureSize {
        var r = BitReader.rbsp(nal: nal, headerSize: 1)
        let profile = try r.bits(8)
        try r.skip(16)  // constraint flags, level_idc
        _ = try r.ue()  // seq_parameter_set_id
        var chromaFormat: UInt32 = 1
        var separateColourPlanes = false
        if [100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135].contains(profile) {
            chromaFormat = try r.ue()
            guard chromaFormat <= 3 else { throw BitstreamError() }
            if chromaFormat == 3 { separateColourPlanes = try r.flag() }
            _ = try r.ue()  // bit_depth_luma_minus8
            _ = try r.ue()  // bit_depth_chroma_minus8
            try r.skip(1)   // qpprime_y_zero_transform_bypass_flag
            if try r.flag() {  // seq_scaling_matrix_present_flag
                for i in 0..<(chromaFormat != 3 ? 8 : 12) {
                    if try r.flag() { try skipScalingList(&r, size: i < 6 ? 16 : 64) }
                }
            }
        }
        _ = try r.ue()  // log2_max_frame_num_minus4
        switch try r.ue() {  // pic_order_cnt_type
        case 0: _ = try r.ue()
        case 1:
            try r.skip(1)
            _ = try r.se()
            _ = try r.se()
            let cycle = try r.ue()
            guard cycle <= 255 else { throw BitstreamError() }
            for _ in 0..<cycle { _ = try r.se() }
        case 2: break
        default: throw BitstreamError()
        }
        _ = try r.ue()  // max_num_ref_frames
        try r.skip(1)   // gaps_in_frame_num_value_allowed_flag
        let widthInMbs = Int(try r.ue()) + 1
        let heightInMapUnits = Int(try r.ue()) + 1
        let frameMbsOnly = try r.flag()
        if !frameMbsOnly { try r.skip(1) }  // mb_adaptive_frame_field_flag
        try r.skip(1)  // direct_8x8_inference_flag
        var crop = (left: 0, right: 0, top: 0, bottom: 0)
        if try r.flag() {
            crop = (Int(try r.ue()), Int(try r.ue()), Int(try r.ue()), Int(try r.ue()))
        }
        let fieldFactor = frameMbsOnly ? 1 : 2
        let chromaArrayType = separateColourPlanes ? 0 : chromaFormat
        let cropX = chromaArrayType == 0 || chromaArrayType == 3 ? 1 : 2
        let cropY = (chromaArrayType == 1 ? 2 : 1) * fieldFactor
        let width = widthInMbs * 16 - cropX * (crop.left + crop.right)
        let height = heightInMapUnits * 16 * fieldFactor - cropY * (crop.top + crop.bottom)
        guard width > 0, height > 0 else { throw BitstreamError() }
        return PictureSize(width: width, height: height)
    }

    private static func skipScalingList(_ r: inout BitReader, size: Int) throws(BitstreamError) {
        var last: Int32 = 8, next: Int32 = 8
        for _ in 0..<size {
            if next != 0 { next = (last + (try r.se()) + 256) % 256 }
            if next != 0 { last = next }
        }
    }

    /// H.265 7.3.2.2.1 up to conf_win offsets (profile_tier_level per 7.3.3).
    static func h265(sps nal: [UInt8]) throws(BitstreamError) -> PictureSize {
        var r = BitReader.rbsp(nal: nal, headerSize: 2)
        try r.skip(4)  // sps_video_parameter_set_id
        let maxSubLayersMinus1 = Int(try r.bits(3))
        try r.skip(1)  // sps_temporal_id_nesting_flag
        try r.skip(88 + 8)  // general profile (88 bits) and general_level_idc
        var profilePresent: [Bool] = [], levelPresent: [Bool] = []
        for _ in 0..<maxSubLayersMinus1 {
            profilePresent.append(try r.flag())
            levelPresent.append(try r.flag())
        }
        if maxSubLayersMinus1 > 0 { try r.skip(2 * (8 - maxSubLayersMinus1)) }
        for i in 0..<maxSubLayersMinus1 {
            if profilePresent[i] { try r.skip(88) }
            if levelPresent[i] { try r.skip(8) }
        }
        _ = try r.ue()  // sps_seq_parameter_set_id
        let chromaFormat = try r.ue()
        guard chromaFormat <= 3 else { throw BitstreamError() }
        if chromaFormat == 3 { try r.skip(1) }  // separate_colour_plane_flag
        var width = Int(try r.ue())
        var height = Int(try r.ue())
        if try r.flag() {  // conformance_window_flag
            let subWidth = chromaFormat == 1 || chromaFormat == 2 ? 2 : 1
            let subHeight = chromaFormat == 1 ? 2 : 1
            width -= subWidth * (Int(try r.ue()) + Int(try r.ue()))
            height -= subHeight * (Int(try r.ue()) + Int(try r.ue()))
        }
        guard width > 0, height > 0 else { throw BitstreamError() }
        return PictureSize(width: width, height: height)
    }

    /// max_frame_width/height from the first sequence header OBU among `obus` (AV1 5.5.1).
    static func av1(obus: [UInt8]) throws(BitstreamError) -> PictureSize {
        var r = BitReader(obus)
        while r.bitsLeft > 0 {
            let header = try r.bits(8)
            let type = header >> 3 & 0x0F
            if header & 0x04 != 0 { try r.skip(8) }  // obu_extension_header
            guard header & 0x02 != 0 else { throw BitstreamError() }  // config OBUs carry sizes
            let size = try r.leb128()
            guard Int(size) * 8 <= r.bitsLeft else { throw BitstreamError() }
            if type == 1 {
                var payload = r
                return try av1SequenceHeader(&payload)
            }
            try r.skip(Int(size) * 8)
        }
        throw BitstreamError()
    }

    private static func av1SequenceHeader(_ r: inout BitReader) throws(BitstreamError) -> PictureSize {
        try r.skip(3)  // seq_profile
        try r.skip(1)  // still_picture
        let reduced = try r.flag()
        if reduced {
            try r.skip(5)  // seq_level_idx[0]
        } else {
            var bufferDelayLength = 0
            var decoderModelInfo = false
            if try r.flag() {  // timing_info_present_flag
                try r.skip(64)  // num_units_in_display_tick, time_scale
                if try r.flag() { _ = try r.uvlc() }  // equal_picture_interval
                decoderModelInfo = try r.flag()
                if decoderModelInfo {
                    bufferDelayLength = Int(try r.bits(5)) + 1
                    try r.skip(32 + 5 + 5)
                }
            }
            let initialDisplayDelay = try r.flag()
            let operatingPoints = Int(try r.bits(5)) + 1
            for _ in 0..<operatingPoints {
                try r.skip(12)  // operating_point_idc
                if try r.bits(5) > 7 { try r.skip(1) }  // seq_level_idx, seq_tier
                if decoderModelInfo, try r.flag() { try r.skip(2 * bufferDelayLength + 1) }
                if initialDisplayDelay, try r.flag() { try r.skip(4) }
            }
        }
        let widthBits = Int(try r.bits(4)) + 1
        let heightBits = Int(try r.bits(4)) + 1
        let width = Int(try r.bits(widthBits)) + 1
        let height = Int(try r.bits(heightBits)) + 1
        return PictureSize(width: width, height: height)
    }
}
