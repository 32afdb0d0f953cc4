/// Program Specific Information: the PAT and PMT each segment starts with, so a player can
/// start decoding at any segment (ISO/IEC 13818-1 2.4.4).
enum PSI {
    /// The one program: number 1 in transport stream 1.
    static let programNumber: UInt16 = 1
    static let transportStreamID: UInt16 = 1

    struct Stream: Sendable, Hashable {
        var type: UInt8
        var pid: UInt16
    }

    /// program_association_section: program 1 -> the PMT PID.
    static func pat(pmtPID: UInt16, version: UInt8 = 0) -> [UInt8] {
        section(tableID: 0x00, tableIDExtension: transportStreamID, version: version,
                body: [UInt8(programNumber >> 8), UInt8(programNumber & 0xFF), 0xE0 | UInt8(pmtPID >> 8), UInt8(pmtPID & 0xFF)])
    }

    /// TS_program_map_section: the PCR PID and one entry per elementary stream, no descriptors.
    static func pmt(pcrPID: UInt16, streams: [Stream], version: UInt8) -> [UInt8] {
        var body: [UInt8] = [0xE0 | UInt8(pcrPID >> 8), UInt8(pcrPID & 0xFF), 0xF0, 0x00]  // program_info_length 0
        for s in streams { body += [s.type, 0xE0 | UInt8(s.pid >> 8), UInt8(s.pid & 0xFF), 0xF0, 0x00] }
        return section(tableID: 0x02, tableIDExtension: programNumber, version: version, body: body)
    }

    /// The long section syntax: header, `body`, CRC-32. section_length counts from after
    /// itself through the CRC.
    private static func section(tableID: UInt8, tableIDExtension: UInt16, version: UInt8, body: [UInt8]) -> [UInt8] {
        let length = 5 + body.count + 4
        var s: [UInt8] = [tableID, 0xB0 | UInt8(length >> 8), UInt8(length & 0xFF),  // syntax 1, '0', reserved '11'
                          UInt8(tableIDExtension >> 8), UInt8(tableIDExtension & 0xFF),
                          0xC1 | (version & 0x1F) << 1,  // reserved '11', version, current_next_indicator 1
                          0x00, 0x00]                     // section_number, last_section_number
        s += body
        let crc = MPEG2CRC32.checksum(s)
        s += [UInt8(crc >> 24), UInt8(crc >> 16 & 0xFF), UInt8(crc >> 8 & 0xFF), UInt8(crc & 0xFF)]
        return s
    }
}
