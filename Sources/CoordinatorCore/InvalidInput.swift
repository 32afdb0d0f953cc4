/// Input a person typed that cannot be used, with a message saying what would work.
/// The coordinator answers it as `invalidArgument`; the text is shown as is.
public struct InvalidInput: Error, Equatable, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
