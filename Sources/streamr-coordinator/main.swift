import Coordinator
import StreamrDaemon

await CoordinatorCommand.runAsRoot()
