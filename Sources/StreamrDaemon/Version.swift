/// The release every Streamr binary reports with --version and in its Hello.
public enum StreamrVersion {
    public static let current = "0.1.0"
}
