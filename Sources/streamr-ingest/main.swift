import Ingest
import StreamrDaemon

await IngestCommand.runAsRoot()
