import ArgumentParser

extension AsyncParsableCommand {
    /// Parses the process arguments and runs the chosen (async or sync) subcommand.
    /// What ArgumentParser's own async `main()` does; executables call this because
    /// from a library module the compiler otherwise picks the synchronous overload.
    /// `arguments`: without the program name (default: the process's own).
    public static func runAsRoot(arguments: [String]? = nil) async {
        do {
            var command = try parseAsRoot(arguments)
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}
