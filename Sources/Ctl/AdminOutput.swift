import StreamrWire

extension ConnectionOptions {
    /// Sends one admin command (arguments with a nil value are left out) and returns the table.
    func admin(_ command: [String], _ arguments: [(String, String?)] = []) async throws -> AdminResponse {
        let request = AdminRequest(command: command, arguments: arguments.compactMap { name, value in
            value.map { AdminArgument(name, $0) }
        })
        guard case .adminResponse(let response) = try await call(.adminRequest(request)) else {
            throw CtlError.refused("unexpected answer to `\(command.joined(separator: " "))`")
        }
        return response
    }
}

/// How admin answers are printed: human tables by default, JSON with --json. In JSON every
/// cell is a string, keyed by its column name, so scripts read the same names as the table.
public enum AdminOutput {
    /// A listing: a table (or `empty` when there are no rows), or a JSON array of objects.
    public static func list(_ response: AdminResponse, json: Bool, empty: String) -> String {
        if json { return JSON.Value.array(response.rows.map { object(columns: response.columns, row: $0) }).render() }
        return response.rows.isEmpty ? empty : Table.render(columns: response.columns, rows: response.rows)
    }

    /// One record: `key: value` lines, or a JSON object.
    public static func show(_ response: AdminResponse, json: Bool) -> String {
        let row = response.rows.first ?? []
        if json { return object(columns: response.columns, row: row).render() }
        return Table.renderPairs(Array(zip(response.columns, row)))
    }

    /// An action's outcome: its message, or `{"message": ...}`.
    public static func message(_ response: AdminResponse, json: Bool) -> String {
        json ? JSON.Value.object([("message", .string(response.message))]).render() : response.message
    }

    static func object(columns: [String], row: [String]) -> JSON.Value {
        .object(zip(columns, row).map { ($0, .string($1)) })
    }

    /// What `stream create` and `stream rotate-key` print: the key, once, as OBS asks for it.
    public static func streamKey(_ response: AdminResponse, json: Bool) -> String {
        if json { return show(response, json: true) }
        let row = response.rows.first ?? []
        let cell = { (name: String) in response.columns.firstIndex(of: name).map { row[$0] } ?? "" }
        let url = cell("rtmp_url")
        let server = url.lastIndex(of: "/").map { String(url[..<$0]) } ?? url
        return """
        \(response.message)

        In OBS (Settings → Stream, Service: Custom):
          Server:      \(server)
          Stream Key:  \(cell("key"))
        Full URL, for ffmpeg:
          \(url)

        The key is shown only this once: keep it secret. `streamrctl stream rotate-key \(cell("name"))` makes a new one.
        """
    }
}
