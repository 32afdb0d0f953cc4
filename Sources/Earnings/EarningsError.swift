/// Facts or requests the earnings engine refuses, with a message a person can act on. Thrown
/// before anything is computed, so a refused input never yields half a result.
public struct EarningsError: Error, Sendable, Equatable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
