// streamr-bench: Streamr's performance, measured on loopback.
//
//   streamr-bench rpc --payload heartbeat|media [--seconds S] [--connections N] [--plain]
//       the RPC transport in-process. heartbeat: request/answer heartbeats, `--inflight`
//       outstanding per connection. media: 64 KiB MediaData pushes as fast as backpressure allows.
//   streamr-bench coordinator --port P --ca CA.pem --token T --nodes N [--rate R] [--seconds S]
//       a load generator for a running streamr-coordinator: enrols N nodes with the invite
//       token, holds N mTLS sessions, and heartbeats at R per second in total (0: as fast as
//       the acks come back), measuring acks/s and ack latency.
//   streamr-bench subscribe --port P --ca CA.pem --cert NODE.pem --key NODE.key --stream S
//       [--subscribers N] [--seconds S]: N node subscriptions at a running streamr-ingest.
// Prints one line of JSON, so bench/run.sh can tabulate it.
import Foundation

let arguments = Array(CommandLine.arguments.dropFirst())
switch arguments.first {
case "rpc": try await runRPC(Options(arguments))
case "coordinator": try await runCoordinatorLoad(CoordinatorLoadOptions(Array(arguments.dropFirst())))
case "subscribe": try await runSubscribeLoad(SubscribeLoadOptions(Array(arguments.dropFirst())))
default:
    FileHandle.standardError.write(Data("usage: streamr-bench rpc|coordinator ... (see bench/README.md)\n".utf8))
    exit(64)
}
exit(0)
