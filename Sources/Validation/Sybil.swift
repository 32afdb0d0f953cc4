/// Who a node is, beyond its certificate: the machine it reported at enrolment
/// (/etc/machine-id) and the address the coordinator sees its session come from.
public struct Identity: Sendable, Hashable {
    public var node: NodeID
    public var machineID: String
    public var address: String
    public var enrolledAtMs: Int64
    public init(node: NodeID, machineID: String, address: String, enrolledAtMs: Int64) {
        self.node = node; self.machineID = machineID; self.address = address; self.enrolledAtMs = enrolledAtMs
    }
}

/// Which identities count as one: one earning identity per machine id, per address, both or none.
public struct SybilPolicy: OptionSet, Sendable, Hashable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }
    public static let perMachine = SybilPolicy(rawValue: 1)
    public static let perAddress = SybilPolicy(rawValue: 2)
    public static let perMachineAndAddress: SybilPolicy = [.perMachine, .perAddress]
    public static let off: SybilPolicy = []
}

public enum SybilRule {
    /// For each identity that may not earn, the identity that earns in its place.
    ///
    /// Identities are taken in enrolment order (ties by node id, so the choice is the same on
    /// every run); each earns unless an earlier *earning* identity has its machine id or its
    /// address (as the policy says). So the earliest enrolled active identity of a machine
    /// or address earns and at most one earns per machine and per address. Pass only the
    /// identities active in the period: an inactive first identity does not block a later one.
    public static func losers(_ identities: [Identity], policy: SybilPolicy) -> [NodeID: NodeID] {
        guard !policy.isEmpty else { return [:] }
        var machines: [String: NodeID] = [:]
        var addresses: [String: NodeID] = [:]
        var out: [NodeID: NodeID] = [:]
        let ordered = identities.sorted { ($0.enrolledAtMs, $0.node) < ($1.enrolledAtMs, $1.node) }
        for identity in ordered {
            // An empty machine id or address is unknown, not shared.
            if policy.contains(.perMachine), !identity.machineID.isEmpty, let winner = machines[identity.machineID] {
                out[identity.node] = winner
            } else if policy.contains(.perAddress), !identity.address.isEmpty, let winner = addresses[identity.address] {
                out[identity.node] = winner
            } else {
                if !identity.machineID.isEmpty { machines[identity.machineID] = identity.node }
                if !identity.address.isEmpty { addresses[identity.address] = identity.node }
            }
        }
        return out
    }
}
