import FLV
@testable import HLS
import XCTest

/// The init segment and fragment layouts, read back with the independent box reader in
/// TestSupport: sizes, fields at their offsets, and known bytes.
final class FMP4BoxTests: XCTestCase {
    private func initSegment(_ headers: SequenceHeaders) throws -> FMP4InitSegment {
        var muxer = FMP4Muxer()
        return try muxer.segment(tags: [], headers: headers).initSegment
    }

    func testBoxWriterPatchesSizesAndWritesDescriptorSizes() {
        var w = MP4Writer()
        w.box("moov") { w in
            w.fullBox("mvhd", version: 1, flags: 0x00_0102) { w in w.u16(0xABCD) }
            w.box("free") { _ in }
        }
        XCTAssertEqual(w.bytes, hex("0000001e 6d6f6f76 0000000e 6d766864 01000102 abcd 00000008 66726565"))
        // Descriptor sizes: one byte below 128, 7-bit groups with continuation bits above.
        var d = MP4Writer()
        d.descriptor(tag: 5) { $0.zeros(2) }
        XCTAssertEqual(d.bytes, [5, 2, 0, 0])
        var big = MP4Writer()
        big.descriptor(tag: 4) { $0.zeros(200) }
        XCTAssertEqual(Array(big.bytes.prefix(3)), [4, 0x81, 0x48])
        XCTAssertEqual(big.count, 203)
    }

    func testH264AndAACInitSegment() throws {
        let init_ = try initSegment(Make.headers())
        XCTAssertEqual(init_.version, 1)
        XCTAssertEqual(init_.codecs, "avc1.64000d,mp4a.40.2")
        let top = Box.list(init_.bytes[...])
        XCTAssertEqual(top.map(\.type), ["ftyp", "moov"])
        XCTAssertEqual(Array(top[0].bytes), hex("00000018 66747970 69736f36 00000000 69736f36 6d703431"))
        let moov = top[1]
        XCTAssertEqual(moov.children().map(\.type), ["mvhd", "trak", "trak", "mvex"])
        let mvhd = try XCTUnwrap(moov.find("mvhd"))
        XCTAssertEqual(mvhd.bytes.count, 108)
        XCTAssertEqual(Box.u32(mvhd.body, 12), 1000, "movie timescale")
        XCTAssertEqual(Box.u32(mvhd.body, 96), 3, "next_track_ID")

        let traks = moov.children().filter { $0.type == "trak" }
        let (video, audio) = (traks[0], traks[1])
        let tkhd = try XCTUnwrap(video.find("tkhd"))
        XCTAssertEqual(tkhd.bytes.count, 92)
        XCTAssertEqual(Box.u32(tkhd.body, 0), 3, "version 0, enabled | in movie")
        XCTAssertEqual(Box.u32(tkhd.body, 12), 1, "track_ID")
        XCTAssertEqual(Box.u32(tkhd.body, 76), 320 << 16, "width 16.16")
        XCTAssertEqual(Box.u32(tkhd.body, 80), 240 << 16)
        XCTAssertEqual(Box.u32(try XCTUnwrap(audio.find("tkhd")).body, 12), 2)
        XCTAssertEqual(Box.u32(try XCTUnwrap(video.find("mdia/mdhd")).body, 12), 90_000)
        XCTAssertEqual(Box.u32(try XCTUnwrap(audio.find("mdia/mdhd")).body, 12), 44_100, "the AAC sampling rate")
        XCTAssertEqual(Array(try XCTUnwrap(video.find("mdia/hdlr")).body.dropFirst(8).prefix(4)), Array("vide".utf8))
        XCTAssertEqual(Array(try XCTUnwrap(audio.find("mdia/hdlr")).body.dropFirst(8).prefix(4)), Array("soun".utf8))
        XCTAssertEqual(Array(try XCTUnwrap(video.find("mdia/minf/vmhd")).bytes), hex("00000014 766d6864 00000001 0000000000000000"))
        XCTAssertEqual(Array(try XCTUnwrap(video.find("mdia/minf/dinf/dref")).bytes),
                       hex("0000001c 64726566 00000000 00000001 0000000c 75726c20 00000001"))
        let stbl = try XCTUnwrap(video.find("mdia/minf/stbl"))
        XCTAssertEqual(stbl.children().map(\.type), ["stsd", "stts", "stsc", "stsz", "stco"])
        XCTAssertEqual(Array(try XCTUnwrap(stbl.find("stsz")).bytes), hex("00000014 7374737a 00000000 00000000 00000000"))

        // avc1: 78 bytes of VisualSampleEntry fields, then avcC with the record unchanged.
        let avc1 = try XCTUnwrap(stbl.find("stsd/avc1"))
        XCTAssertEqual(Box.u32(avc1.body, 4) & 0xFFFF, 1, "data_reference_index")
        XCTAssertEqual(Box.u32(avc1.body, 24), 320 << 16 | 240, "width, height")
        XCTAssertEqual(Box.u32(avc1.body, 74) >> 16, 0x0018, "depth")
        XCTAssertEqual(Array(try XCTUnwrap(avc1.find("avcC")).body), Real.avcRecord)

        // mp4a with esds: ES_Descriptor(DecoderConfigDescriptor(0x40, audio, DecoderSpecificInfo), SLConfig 2).
        let mp4a = try XCTUnwrap(audio.find("mdia/minf/stbl/stsd/mp4a"))
        XCTAssertEqual(Box.u32(mp4a.body, 16), 2 << 16 | 16, "channelcount 2 ([0x12, 0x10] is stereo), samplesize 16")
        XCTAssertEqual(Box.u32(mp4a.body, 24), 44_100 << 16)
        XCTAssertEqual(Array(try XCTUnwrap(mp4a.find("esds")).bytes),
                       hex("00000027 65736473 00000000 0319 0000 00 0411 40 15 000000 00000000 00000000 0502 1210 0601 02"))

        let mvex = try XCTUnwrap(moov.find("mvex"))
        XCTAssertEqual(mvex.children().map(\.type), ["trex", "trex"])
        XCTAssertEqual(Array(mvex.children()[1].bytes), hex("00000020 74726578 00000000 00000002 00000001 00000000 00000000 00000000"))
    }

    func testHEVCAV1AndOpusSampleEntries() throws {
        let hevc = try initSegment(Make.hevcHeaders(audio: false))
        XCTAssertEqual(hevc.codecs, "hvc1.1.6.L60.90")
        let hvc1 = try XCTUnwrap(Box.list(hevc.bytes[...])[1].find("trak/mdia/minf/stbl/stsd/hvc1"))
        XCTAssertEqual(Array(try XCTUnwrap(hvc1.find("hvcC")).body), Real.hevcRecord)
        XCTAssertEqual(Box.list(hevc.bytes[...])[1].children().map(\.type), ["mvhd", "trak", "mvex"])

        let av1 = try initSegment(Make.av1Headers())
        XCTAssertEqual(av1.codecs, "av01.0.00M.08,opus")
        let top = Box.list(av1.bytes[...])
        XCTAssertEqual(Array(top[0].bytes), hex("0000001c 66747970 69736f36 00000000 69736f36 6d703431 61763031"), "with the av01 brand")
        let traks = top[1].children().filter { $0.type == "trak" }
        let av01 = try XCTUnwrap(traks[0].find("mdia/minf/stbl/stsd/av01"))
        XCTAssertEqual(Array(try XCTUnwrap(av01.find("av1C")).body), Real.av1Record)
        // Opus: 48 kHz sample entry and timescale; dOps is OpusHead big-endian, version 0.
        let opus = try XCTUnwrap(traks[1].find("mdia/minf/stbl/stsd/Opus"))
        XCTAssertEqual(Box.u32(opus.body, 24), 48_000 << 16)
        XCTAssertEqual(Array(try XCTUnwrap(opus.find("dOps")).bytes), hex("00000013 644f7073 00 01 0138 0000bb80 0000 00"))
        XCTAssertEqual(Box.u32(try XCTUnwrap(traks[1].find("mdia/mdhd")).body, 12), 48_000)
    }

    func testFragmentLayout() throws {
        var muxer = FMP4Muxer()
        let tags = [Make.frame(1000, key: true, cts: 67), Make.audio(1000, size: 7), Make.frame(1033, cts: -10), Make.audio(1023, size: 9)]
        let segment = try muxer.segment(tags: tags, headers: Make.headers())
        let top = Box.list(segment.bytes[...])
        XCTAssertEqual(top.map(\.type), ["moof", "mdat"])
        let moof = top[0]
        XCTAssertEqual(moof.children().map(\.type), ["mfhd", "traf", "traf"])
        XCTAssertEqual(Array(moof.children()[0].bytes), hex("00000010 6d666864 00000000 00000001"))
        let (video, audio) = (moof.children()[1], moof.children()[2])
        XCTAssertEqual(video.children().map(\.type), ["tfhd", "tfdt", "trun"])
        XCTAssertEqual(Array(try XCTUnwrap(video.find("tfhd")).bytes), hex("00000010 74666864 00020000 00000001"), "default-base-is-moof")
        XCTAssertEqual(Array(try XCTUnwrap(video.find("tfdt")).bytes), hex("00000014 74666474 01000000 0000000000015f90"), "1000 ms at 90 kHz")
        XCTAssertEqual(Array(try XCTUnwrap(audio.find("tfdt")).bytes.suffix(8)), hex("000000000000ac44"), "1000 ms at 44.1 kHz")

        // Video trun: version 1 (a negative offset), all four per-sample fields.
        let trun = try XCTUnwrap(video.find("trun"))
        XCTAssertEqual(Box.u32(trun.body, 0), 0x0100_0F01)
        XCTAssertEqual(Box.u32(trun.body, 4), 2)
        let dataOffset = Int(Box.u32(trun.body, 8))
        let samples = [(trun.body.dropFirst(12).prefix(16)), trun.body.dropFirst(28).prefix(16)]
        XCTAssertEqual(samples.map { Box.u32($0, 0) }, [33 * 90, 33 * 90], "durations: to the next frame; the last repeats the mean")
        XCTAssertEqual(samples.map { Box.u32($0, 8) }, [0x0200_0000, 0x0101_0000], "sync, then non-sync")
        XCTAssertEqual(samples.map { Int32(bitPattern: Box.u32($0, 12)) }, [67 * 90, -10 * 90])
        // The data offsets point at the tags' bytes, unchanged, counted from the moof.
        let videoData = tags[0].data.dropFirst(5)
        XCTAssertEqual(Array(segment.bytes[dataOffset..<(dataOffset + videoData.count)]), Array(videoData))
        XCTAssertEqual(Int(Box.u32(samples[0], 4)), videoData.count)
        let audioTrun = try XCTUnwrap(audio.find("trun"))
        XCTAssertEqual(Box.u32(audioTrun.body, 0), 0x0000_0301, "version 0, data offset, duration, size")
        XCTAssertEqual(Box.u32(audioTrun.body, 12), 1024)
        let audioOffset = Int(Box.u32(audioTrun.body, 8))
        XCTAssertEqual(Array(segment.bytes[audioOffset..<(audioOffset + 7)]), Array(tags[1].data.dropFirst(2)))
        XCTAssertEqual(top[1].bytes.count, 8 + tags.reduce(0) { $0 + $1.data.count - ($1.type == .video ? 5 : 2) })
        XCTAssertEqual(audioOffset + 7 + 9, segment.bytes.count, "audio last in mdat")
    }
}
