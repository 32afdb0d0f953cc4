/// A command message (type 20, or 17 with a leading 0 byte) as the server understands it:
/// name, transaction id, then arguments (the command object first).
public enum RTMPCommand: Equatable, Sendable {
    /// `properties` is the command object: app, tcUrl, flashVer, objectEncoding...
    case connect(transactionID: Double, properties: AMF0Object)
    case releaseStream(transactionID: Double, name: String)
    case fcPublish(transactionID: Double, name: String)
    case createStream(transactionID: Double)
    /// `type` is "live", "record" or "append" ("live" when absent).
    case publish(transactionID: Double, name: String, type: String)
    case fcUnpublish(transactionID: Double, name: String)
    case deleteStream(transactionID: Double, streamID: UInt32)
    case play(transactionID: Double, name: String, start: Double?)
    case closeStream(transactionID: Double)
    case getStreamLength(transactionID: Double, name: String)
    case checkBandwidth(transactionID: Double)
    /// Anything else (e.g. a client's own _result, onBWDone, pause): kept for the owner to log.
    case other(name: String, transactionID: Double, arguments: [AMF0Value])

    /// Parses a command message; the message stream id is the caller's to interpret.
    public static func parse(_ message: RTMPMessage, limits: AMF0Limits = AMF0Limits()) throws -> RTMPCommand {
        let values = try AMF0Decoder.decodeAll(amf0Payload(message), limits: limits)
        guard case .string(let name)? = values.first else { throw RTMPCommandError.missingName }
        let transaction = values.count > 1 ? (values[1].numberValue ?? 0) : 0
        // Arguments after the command object (which is null for everything but connect).
        let args = Array(values.dropFirst(3))
        func string(_ i: Int) throws -> String {
            guard i < args.count, case .string(let s) = args[i] else { throw RTMPCommandError.missingArgument(command: name) }
            return s
        }
        switch name {
        case "connect":
            guard values.count > 2, let props = values[2].objectValue else { throw RTMPCommandError.missingArgument(command: name) }
            return .connect(transactionID: transaction, properties: props)
        case "releaseStream": return .releaseStream(transactionID: transaction, name: try string(0))
        case "FCPublish": return .fcPublish(transactionID: transaction, name: try string(0))
        case "createStream": return .createStream(transactionID: transaction)
        case "publish":
            return .publish(transactionID: transaction, name: try string(0), type: args.count > 1 ? (args[1].stringValue ?? "live") : "live")
        case "FCUnpublish": return .fcUnpublish(transactionID: transaction, name: (try? string(0)) ?? "")
        case "deleteStream":
            let id = args.first?.numberValue ?? 0
            return .deleteStream(transactionID: transaction, streamID: id >= 0 && id <= Double(UInt32.max) ? UInt32(id) : 0)
        case "play": return .play(transactionID: transaction, name: try string(0), start: args.count > 1 ? args[1].numberValue : nil)
        case "closeStream": return .closeStream(transactionID: transaction)
        case "getStreamLength": return .getStreamLength(transactionID: transaction, name: (try? string(0)) ?? "")
        case "_checkbw": return .checkBandwidth(transactionID: transaction)
        default: return .other(name: name, transactionID: transaction, arguments: Array(values.dropFirst(2)))
        }
    }

    /// The AMF0 bytes of a command or data message: AMF3-typed ones (17, 15) start with a
    /// format byte 0 and then carry AMF0, which is what Flash and librtmp send.
    static func amf0Payload(_ message: RTMPMessage) throws -> [UInt8] {
        switch message.typeID {
        case RTMPMessageType.commandAMF0, RTMPMessageType.dataAMF0:
            return message.payload
        case RTMPMessageType.commandAMF3, RTMPMessageType.dataAMF3:
            guard message.payload.first == 0 else { throw RTMPCommandError.amf3NotSupported }
            return Array(message.payload.dropFirst())
        default:
            throw RTMPCommandError.notACommand(typeID: message.typeID)
        }
    }

    /// Builds a command message: name, transaction id, then values (first the command object).
    public static func message(_ name: String, transactionID: Double, _ values: [AMF0Value],
                               streamID: UInt32 = 0, chunkStreamID: UInt32 = RTMPChunkStream.command) -> RTMPMessage {
        RTMPMessage(typeID: RTMPMessageType.commandAMF0, streamID: streamID, timestamp: 0, chunkStreamID: chunkStreamID,
                    payload: AMF0Encoder.encode([.string(name), .number(transactionID)] + values))
    }
}

public enum RTMPCommandError: Error, Equatable, Sendable, CustomStringConvertible {
    case missingName
    case missingArgument(command: String)
    /// A type 17/15 message whose body is real AMF3 rather than AMF0 behind a 0 byte.
    case amf3NotSupported
    case notACommand(typeID: UInt8)

    public var description: String {
        switch self {
        case .missingName: "RTMP command: does not start with a command name string"
        case .missingArgument(let c): "RTMP command: \(c) lacks a required argument"
        case .amf3NotSupported: "RTMP command: AMF3-encoded commands are not supported"
        case .notACommand(let t): "RTMP command: message type \(t) is not a command or data message"
        }
    }
}

/// A data message (type 18, or 15 with a leading 0 byte): a handler name and values.
public struct RTMPDataMessage: Equatable, Sendable {
    public var name: String
    public var values: [AMF0Value]

    public static func parse(_ message: RTMPMessage, limits: AMF0Limits = AMF0Limits()) throws -> RTMPDataMessage {
        let values = try AMF0Decoder.decodeAll(RTMPCommand.amf0Payload(message), limits: limits)
        guard case .string(let name)? = values.first else { throw RTMPCommandError.missingName }
        return RTMPDataMessage(name: name, values: Array(values.dropFirst()))
    }

    /// For `@setDataFrame`, the same message with that first string cut off, so what is stored
    /// and sent to players is `onMetaData` + object, byte for byte as the publisher wrote it.
    /// Other data messages come back as type 18 unchanged.
    public static func strippingSetDataFrame(_ message: RTMPMessage) throws -> RTMPMessage {
        let payload = try RTMPCommand.amf0Payload(message)
        var decoder = AMF0Decoder(payload)
        var out = message
        out.typeID = RTMPMessageType.dataAMF0
        out.payload = payload
        if case .string("@setDataFrame") = try decoder.decode() {
            out.payload = Array(payload[decoder.position...])
        }
        return out
    }
}
