import Coordinator
import Glibc
import Ingest
import StreamrConfig
import StreamrDaemon
import Validator

// The host's three daemons in one program (they share almost all their code, so three static
// binaries were three copies of it). It runs the daemon its name says: the package installs it
// as /usr/libexec/streamr/streamr-host with /usr/sbin/streamr-ingest, streamr-coordinator and
// streamr-validator as symbolic links to it. `streamr-host NAME [ARGS...]` works too.
let daemons = ["streamr-ingest", "streamr-coordinator", "streamr-validator"]
var arguments = Array(CommandLine.arguments.dropFirst())
var name = String(CommandLine.arguments.first?.split(separator: "/").last ?? "")
if !daemons.contains(name), let first = arguments.first, daemons.contains(first) {
    name = first
    arguments.removeFirst()
}
switch name {
case "streamr-ingest": await IngestCommand.runAsRoot(arguments: arguments)
case "streamr-coordinator": await CoordinatorCommand.runAsRoot(arguments: arguments)
case "streamr-validator": await ValidatorCommand.runAsRoot(arguments: arguments)
default:
    TextFormat.printError("""
        usage: streamr-host {\(daemons.joined(separator: "|"))} [ARGS...]
        (or run it through the links /usr/sbin/streamr-ingest, /usr/sbin/streamr-coordinator, /usr/sbin/streamr-validator)

        """)
    exit(64)
}
