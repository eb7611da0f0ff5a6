/// The product version, in one place: both binaries print it (`--version`, `status`) and the edge
/// reports it in its presence. CHANGELOG.md's newest release names the same version (a test checks
/// it), and a release is the git tag `v` + this on the commit that sets it.
public enum MillwrightVersion {
    public static let current = "0.10.0"
}
