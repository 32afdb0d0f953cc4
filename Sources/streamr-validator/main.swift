import Validator
import StreamrDaemon

await ValidatorCommand.runAsRoot()
