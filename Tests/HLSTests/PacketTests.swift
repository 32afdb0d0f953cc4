@testable import HLS
import XCTest

/// Transport stream packets and PSI: the layer every segment is built from.
final class PacketTests: XCTestCase {
    func testCRC32KnownVectors() {
        // CRC-32/MPEG-2 check value of "123456789".
        XCTAssertEqual(MPEG2CRC32.checksum(Array("123456789".utf8)), 0x0376_E6E7)
        XCTAssertEqual(MPEG2CRC32.checksum([UInt8]()), 0xFFFF_FFFF)
        // A section followed by its CRC checks to zero: ffmpeg's own PAT and PMT.
        XCTAssertEqual(MPEG2CRC32.checksum(Real.ffmpegPAT), 0)
        XCTAssertEqual(MPEG2CRC32.checksum(Real.ffmpegPMT), 0)
    }

    func testPATAndPMTAreByteForByteFFmpegs() {
        XCTAssertEqual(PSI.pat(pmtPID: TSMuxer.pmtPID), Real.ffmpegPAT)
        let streams = [PSI.Stream(type: 0x1B, pid: 0x100), PSI.Stream(type: 0x0F, pid: 0x101)]
        XCTAssertEqual(PSI.pmt(pcrPID: 0x100, streams: streams, version: 0), Real.ffmpegPMT)
        // Another version: the version bits change and the CRC follows.
        let v3 = PSI.pmt(pcrPID: 0x101, streams: [streams[1]], version: 3)
        XCTAssertEqual(v3[5], 0xC1 | 3 << 1)
        XCTAssertEqual(Int(v3[1] & 0x0F) << 8 | Int(v3[2]), v3.count - 3)  // section_length
        XCTAssertEqual(MPEG2CRC32.checksum(v3), 0)
    }

    func testSectionPacketIsPaddedWithFF() {
        var p = TSPacketizer()
        var out: [UInt8] = []
        p.writeSection(pid: 0, section: Real.ffmpegPAT, into: &out)
        p.writeSection(pid: 0, section: Real.ffmpegPAT, into: &out)
        XCTAssertEqual(out.count, 376)
        let packets = TSPacket.split(out)
        XCTAssertEqual(packets.map(\.continuityCounter), [0, 1])
        for packet in packets {
            XCTAssertEqual(Array(packet.bytes.prefix(4)).prefix(3), [0x47, 0x40, 0x00])
            XCTAssertFalse(packet.hasAdaptation)
            XCTAssertEqual(Array(packet.payload.prefix(1 + Real.ffmpegPAT.count)), [0] + Real.ffmpegPAT)
            XCTAssertTrue(packet.payload.dropFirst(1 + Real.ffmpegPAT.count).allSatisfy { $0 == 0xFF })
        }
    }

    /// Every size around the packet boundaries: 188-byte packets, payload reassembles exactly,
    /// payload_unit_start only on the first, stuffing only in the last, counters mod 16.
    func testPESPacketizationAtEverySize() {
        var p = TSPacketizer()
        var expectedCC: UInt8 = 0
        for size in [1, 2, 100, 176, 177, 178, 182, 183, 184, 185, 366, 367, 368, 369, 1000, 5000] {
            for withPCR in [false, true] {
                let pes = (0..<size).map { UInt8(truncatingIfNeeded: $0 * 7) }
                var out: [UInt8] = []
                p.writePES(pid: 0x100, pes: pes, pcr: withPCR ? 123_456 : nil, randomAccess: withPCR, into: &out)
                let packets = TSPacket.split(out)
                XCTAssertEqual(packets.flatMap(\.payload), pes, "size \(size)")
                for (i, packet) in packets.enumerated() {
                    XCTAssertEqual(packet.bytes.first, 0x47)
                    XCTAssertEqual(packet.pid, 0x100)
                    XCTAssertTrue(packet.hasPayload)
                    XCTAssertEqual(packet.payloadUnitStart, i == 0)
                    XCTAssertEqual(packet.continuityCounter, expectedCC, "size \(size) packet \(i)")
                    expectedCC = (expectedCC + 1) & 0x0F
                    if i > 0 && i < packets.count - 1 { XCTAssertFalse(packet.hasAdaptation) }
                    if let a = packet.adaptation, a.count > (i == 0 && withPCR ? 7 : 1) {
                        XCTAssertTrue(a.dropFirst(i == 0 && withPCR ? 7 : 1).allSatisfy { $0 == 0xFF }, "stuffing is 0xFF")
                    }
                }
                XCTAssertEqual(packets.first?.pcr, withPCR ? 123_456 : nil)
                XCTAssertEqual(packets.first?.randomAccess, withPCR)
                // As few packets as possible.
                let room = 184 - (withPCR ? 8 : 0)
                XCTAssertEqual(packets.count, size <= room ? 1 : 1 + (size - room + 183) / 184, "size \(size)")
            }
        }
    }

    func testOneSpareByteIsAZeroLengthAdaptationField() throws {
        var p = TSPacketizer()
        var out: [UInt8] = []
        p.writePES(pid: 0x101, pes: [UInt8](repeating: 1, count: 183), into: &out)
        let packet = try XCTUnwrap(TSPacket.split(out).first)
        XCTAssertEqual(packet.bytes[packet.bytes.startIndex + 3] & 0x30, 0x30)
        XCTAssertEqual(packet.bytes[packet.bytes.startIndex + 4], 0)
        XCTAssertEqual(packet.payload.count, 183)
    }

    func testPCREncoding() {
        XCTAssertEqual(TSPacketizer.encodePCR(base: 63000), hex("00007b0c7e00"))  // ffmpeg's first PCR
        XCTAssertEqual(TSPacketizer.encodePCR(base: 0x1_FFFF_FFFF), hex("fffffffffe00"))
        XCTAssertEqual(TSPacketizer.encodePCR(base: 0x2_0000_0001), hex("00000000fe00"), "masked to 33 bits")
    }

    func testDiscontinuityRestartsCountersAndFlagsFirstPackets() {
        var p = TSPacketizer()
        var out: [UInt8] = []
        for _ in 0..<3 { p.writePES(pid: 0x100, pes: [1, 2, 3], into: &out) }
        p.markDiscontinuity(pids: [0, 0x100])
        p.writeSection(pid: 0, section: Real.ffmpegPAT, into: &out)
        p.writePES(pid: 0x100, pes: [UInt8](repeating: 9, count: 400), pcr: 5, into: &out)
        p.writePES(pid: 0x100, pes: [4], into: &out)
        let packets = TSPacket.split(out)
        XCTAssertEqual(packets.map(\.continuityCounter), [0, 1, 2, 0, 0, 1, 2, 3])
        XCTAssertEqual(packets.map(\.discontinuity), [false, false, false, true, true, false, false, false])
        XCTAssertEqual(packets[3].payload.prefix(1 + Real.ffmpegPAT.count).dropFirst(), Real.ffmpegPAT[...])
        XCTAssertEqual(packets[4].pcr, 5)
    }
}
