import NodeAgent
import StreamrDaemon

await NodeCommand.runAsRoot()
