/// One-time passwords an administrator reads out or types: `xxxxx-xxxxx-xxxxx-xxxxx`.
///
/// Lower case (no Shift on phone keyboards) from 31 symbols without look-alikes (no 0/o, 1/l/i):
/// 20 symbols give 20·log2(31) ≈ 99 bits of entropy. Each symbol is drawn by rejection sampling, so
/// every symbol is equally likely. Verify it like any password (it is case-sensitive).
public enum TemporaryPassword {
    public static let alphabet = Array("23456789abcdefghjkmnpqrstuvwxyz")
    public static let groupCount = 4
    public static let groupLength = 5

    public static func generate() -> String {
        var out = ""
        out.reserveCapacity(groupCount * (groupLength + 1))
        for group in 0..<groupCount {
            if group > 0 { out.append("-") }
            for _ in 0..<groupLength {
                out.append(alphabet[SecureRandom.uniform(below: alphabet.count)])
            }
        }
        return out
    }
}
