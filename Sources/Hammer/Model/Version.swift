/// hammer's release version, sent as `User-Agent: hammer/<version>`.
public enum HammerVersion {
    public static let current = "0.1.0"
}
