extension TagKind {
    /// The kind of a tag given its type and (the start of) its data: classification reads only
    /// the first bytes (frame type, codec, packet type, an AMF name), so a relay that keeps tags
    /// as received bytes passes a prefix instead of copying whole frames.
    public static func of(type: FLVTagType, data: ArraySlice<UInt8>) -> TagKind {
        TagClassifier.classify(type, data).kind
    }

    /// How many leading data bytes `of(type:data:)` may need.
    public static let classificationPrefix = 256
}
