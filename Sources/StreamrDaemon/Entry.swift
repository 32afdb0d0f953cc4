import ArgumentParser

extension AsyncParsableCommand {
    /// Parses the process arguments and runs the chosen (async or sync) subcommand.
    /// What ArgumentParser's own async `main()` does; executables call this because
    /// from a library module the compiler otherwise picks the synchronous overload.
    public static func runAsRoot() async {
        do {
            var command = try parseAsRoot()
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
