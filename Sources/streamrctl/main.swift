import Ctl
import StreamrDaemon

await CtlCommand.runAsRoot()
