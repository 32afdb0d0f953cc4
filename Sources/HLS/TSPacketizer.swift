/// Cuts PSI sections and PES packets into 188-byte transport stream packets, keeping one
/// continuity counter per PID. It outlives a segment so that the counters run on from one
/// segment into the next, as a player reading the segments back to back expects.
struct TSPacketizer: Sendable, Hashable {
    static let packetSize = 188
    static let syncByte: UInt8 = 0x47
    private static let headerSize = 4

    /// The next continuity_counter for each PID (4 bits).
    private(set) var continuity: [UInt16: UInt8] = [:]
    /// PIDs whose next packet carries discontinuity_indicator, after `markDiscontinuity`.
    private(set) var pendingDiscontinuity: Set<UInt16> = []

    /// Restarts every counter at 0 and flags the next packet of each PID in `pids` as a
    /// discontinuity, so a demuxer neither reports lost packets nor expects the old clock.
    mutating func markDiscontinuity(pids: [UInt16]) {
        continuity = [:]
        pendingDiscontinuity = Set(pids)
    }

    /// A PSI section (PAT, PMT) in one packet: pointer_field 0, the section, then 0xFF filler
    /// (PSI is padded after the section, not with adaptation-field stuffing).
    mutating func writeSection(pid: UInt16, section: [UInt8], into out: inout [UInt8]) {
        let adaptation: [UInt8]? = pendingDiscontinuity.remove(pid) != nil ? [0x80] : nil
        precondition(section.count + 3 <= Self.packetSize - Self.headerSize, "PSI sections here always fit one packet")
        let start = out.count
        writeHeader(pid: pid, payloadStart: true, adaptation: adaptation, into: &out)
        out.append(0)  // pointer_field: the section starts right away
        out.append(contentsOf: section)
        out.append(contentsOf: repeatElement(0xFF, count: start + Self.packetSize - out.count))
    }

    /// A PES packet over as many packets as it takes. The first packet carries the PCR and
    /// random_access_indicator when asked; the last is padded with adaptation-field stuffing,
    /// since PES data cannot be followed by filler bytes.
    mutating func writePES(pid: UInt16, pes: [UInt8], pcr: UInt64? = nil, randomAccess: Bool = false, into out: inout [UInt8]) {
        out.reserveCapacity(out.count + (pes.count / 184 + 1) * Self.packetSize)
        var offset = 0
        var first = true
        while first || offset < pes.count {
            // The adaptation field after its length byte (flags, then fields); nil for none.
            var adaptation: [UInt8]?
            if first {
                let discontinuity = pendingDiscontinuity.remove(pid) != nil
                if pcr != nil || randomAccess || discontinuity {
                    var field = [(discontinuity ? 0x80 : 0) | (randomAccess ? 0x40 : 0) | (pcr != nil ? 0x10 : 0) as UInt8]
                    if let pcr { field += Self.encodePCR(base: pcr) }
                    adaptation = field
                }
            }
            var room = Self.packetSize - Self.headerSize - (adaptation.map { 1 + $0.count } ?? 0)
            let remaining = pes.count - offset
            if remaining < room {
                // Grow the adaptation field so the payload ends exactly at byte 188. A single
                // spare byte is an adaptation field of length 0 (just its length byte).
                var stuffing = room - remaining
                var field = adaptation ?? []
                if adaptation == nil {
                    stuffing -= 1
                    if stuffing > 0 {
                        field.append(0x00)  // flags: none
                        stuffing -= 1
                    }
                }
                field += repeatElement(0xFF, count: stuffing)
                adaptation = field
                room = remaining
            }
            writeHeader(pid: pid, payloadStart: first, adaptation: adaptation, into: &out)
            out.append(contentsOf: pes[offset..<(offset + room)])
            offset += room
            first = false
        }
    }

    /// The 4-byte header, then the adaptation field (length byte and contents) if any.
    private mutating func writeHeader(pid: UInt16, payloadStart: Bool, adaptation: [UInt8]?, into out: inout [UInt8]) {
        let cc = continuity[pid, default: 0]
        continuity[pid] = (cc + 1) & 0x0F  // every packet here carries payload, so each counts
        out.append(Self.syncByte)
        out.append((payloadStart ? 0x40 : 0) | UInt8(pid >> 8 & 0x1F))
        out.append(UInt8(pid & 0xFF))
        out.append((adaptation != nil ? 0x30 : 0x10) | cc)
        if let adaptation {
            out.append(UInt8(adaptation.count))
            out.append(contentsOf: adaptation)
        }
    }

    /// program_clock_reference: 33-bit base (90 kHz), 6 reserved bits, 9-bit extension (0).
    static func encodePCR(base: UInt64) -> [UInt8] {
        let b = base & 0x1_FFFF_FFFF
        return [UInt8(truncatingIfNeeded: b >> 25), UInt8(truncatingIfNeeded: b >> 17), UInt8(truncatingIfNeeded: b >> 9),
                UInt8(truncatingIfNeeded: b >> 1), UInt8(truncatingIfNeeded: b << 7) | 0x7E, 0x00]
    }
}
