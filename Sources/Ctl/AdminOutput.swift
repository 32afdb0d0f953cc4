import StreamrConfig
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

/// How admin answers are printed: human tables by default, JSON with --json. In JSON each cell
/// has the type its column declares (numbers, booleans, RFC 3339 timestamps as strings, null for
/// none), keyed by its column name, so scripts read the same names as the table.
public enum AdminOutput {
    /// A listing: a table (or `empty` when there are no rows), or a JSON array of objects.
    public static func list(_ response: AdminResponse, json: Bool, empty: String) -> String {
        warn(response)
        if json { return JSON.Value.array(response.rows.map { object(response, row: $0) }).render() }
        return response.rows.isEmpty ? empty : Table.render(columns: response.columns, rows: response.rows)
    }

    /// One record: `key: value` lines (and the message), or a JSON object.
    public static func show(_ response: AdminResponse, json: Bool) -> String {
        warn(response)
        let row = response.rows.first ?? []
        if json { return object(response, row: row).render() }
        let note = notes(response)
        return Table.renderPairs(Array(zip(response.columns, row))) + (note.isEmpty ? "" : "\n\n" + note)
    }

    /// An action's outcome: its message, or `{"message": ...}` (with the table's first row, typed).
    public static func message(_ response: AdminResponse, json: Bool) -> String {
        warn(response)
        guard json else { return notes(response) }
        var fields: [(String, JSON.Value)] = [("message", .string(notes(response)))]
        if case .object(let pairs) = object(response, row: response.rows.first ?? []) { fields += pairs }
        return JSON.Value.object(fields).render()
    }

    /// The message without its warning lines (those go to stderr, see `warn`).
    static func notes(_ response: AdminResponse) -> String {
        response.message.split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.hasPrefix("warning: ") }.joined(separator: "\n")
    }

    /// Warnings the daemon attached go to stderr, so `--json` output stays JSON and a
    /// captured join line stays one line.
    static func warn(_ response: AdminResponse) {
        for line in response.message.split(separator: "\n") where line.hasPrefix("warning: ") {
            TextFormat.printError("streamrctl: \(line)\n")
        }
    }

    static func object(_ response: AdminResponse, row: [String]) -> JSON.Value {
        .object(zip(response.columns, row).enumerated().map { index, pair in (pair.0, JSON.typed(pair.1, response.type(ofColumn: index))) })
    }

    /// What `stream create` and `stream rotate-key` print: the key, once, as OBS asks for it.
    public static func streamKey(_ response: AdminResponse, json: Bool) -> String {
        if json { return show(response, json: true) }
        warn(response)
        let row = response.rows.first ?? []
        let cell = { (name: String) in response.columns.firstIndex(of: name).map { row[$0] } ?? "" }
        let url = cell("rtmp_url")
        let server = cell("rtmp_server")
        return """
        \(notes(response))

        In OBS (Settings → Stream, Service: Custom):
          Server:      \(server)
          Stream Key:  \(cell("key"))
        Full URL, for ffmpeg:
          \(url)

        The key is shown only this once: keep it secret. `streamrctl stream rotate-key \(cell("name"))` makes a new one.
        """
    }
}
