/// The product version reported by both executables and in status output.
public enum MillwrightVersion {
    public static let current = "0.1.0"
}
