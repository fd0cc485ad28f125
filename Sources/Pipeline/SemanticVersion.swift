/// A version as Semantic Versioning 2.0.0 defines it (`MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD]`), ordered by its
/// precedence rules (build metadata is ignored; a pre-release sorts before its release).
public struct SemanticVersion: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var major: Int
    public var minor: Int
    public var patch: Int
    public var prerelease: [String]
    public var build: String?

    public init(_ major: Int, _ minor: Int, _ patch: Int, prerelease: [String] = [], build: String? = nil) {
        (self.major, self.minor, self.patch, self.prerelease, self.build) = (major, minor, patch, prerelease, build)
    }

    /// Parses a full version; nil when `text` is not one (leading zeros, missing parts and empty identifiers are
    /// rejected, as the specification says).
    public init?(_ text: String) {
        var rest = Substring(text)
        var build: String?
        if let plus = rest.firstIndex(of: "+") {
            let metadata = rest[rest.index(after: plus)...]
            guard Self.identifiers(metadata, numericLeadingZeroAllowed: true) != nil else { return nil }
            build = String(metadata)
            rest = rest[..<plus]
        }
        var prerelease: [String] = []
        if let dash = rest.firstIndex(of: "-") {
            guard let identifiers = Self.identifiers(rest[rest.index(after: dash)...], numericLeadingZeroAllowed: false) else { return nil }
            prerelease = identifiers
            rest = rest[..<dash]
        }
        let parts = rest.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let numbers = Self.numbers(parts) else { return nil }
        self.init(numbers[0], numbers[1], numbers[2], prerelease: prerelease, build: build)
    }

    public var description: String {
        var text = "\(major).\(minor).\(patch)"
        if !prerelease.isEmpty { text += "-" + prerelease.joined(separator: ".") }
        if let build { text += "+" + build }
        return text
    }

    public static func == (a: SemanticVersion, b: SemanticVersion) -> Bool {
        (a.major, a.minor, a.patch, a.prerelease) == (b.major, b.minor, b.patch, b.prerelease)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(major); hasher.combine(minor); hasher.combine(patch); hasher.combine(prerelease)
    }

    public static func < (a: SemanticVersion, b: SemanticVersion) -> Bool {
        if (a.major, a.minor, a.patch) != (b.major, b.minor, b.patch) { return (a.major, a.minor, a.patch) < (b.major, b.minor, b.patch) }
        switch (a.prerelease.isEmpty, b.prerelease.isEmpty) {
        case (true, true), (true, false): return false
        case (false, true): return true
        case (false, false): break
        }
        for (x, y) in zip(a.prerelease, b.prerelease) where x != y {
            switch (Int(x), Int(y)) {
            case let (m?, n?): return m < n
            case (.some, nil): return true      // numeric identifiers sort before alphanumeric ones
            case (nil, .some): return false
            case (nil, nil): return x < y
            }
        }
        return a.prerelease.count < b.prerelease.count
    }

    /// Non-negative integers without leading zeros.
    static func numbers(_ parts: [Substring]) -> [Int]? {
        var result: [Int] = []
        for part in parts {
            guard !part.isEmpty, part.allSatisfy(\.isASCIIDigit), part == "0" || part.first != "0", let value = Int(part) else { return nil }
            result.append(value)
        }
        return result
    }

    private static func identifiers(_ text: Substring, numericLeadingZeroAllowed: Bool) -> [String]? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        for part in parts {
            guard !part.isEmpty, part.allSatisfy({ $0.isASCIIDigit || $0.isASCIILetter || $0 == "-" }) else { return nil }
            if !numericLeadingZeroAllowed, part.allSatisfy(\.isASCIIDigit), part.count > 1, part.first == "0" { return nil }
        }
        return parts.map(String.init)
    }
}

extension Character {
    var isASCIIDigit: Bool { ("0"..."9").contains(self) }
    var isASCIILetter: Bool { ("a"..."z").contains(self) || ("A"..."Z").contains(self) }
}

/// Which versions of a plugin a flow or a dependency accepts: `1.2.3` (exactly), `^1.2.3` (compatible: same major,
/// or same minor below 1.0), `~1.2.3` (same minor), `*` (any), or comparators `>=1.2.0 <2.0.0` (all must hold).
/// Partial versions are completed with zeros (`^1.2` is `^1.2.0`). A pre-release version matches only a
/// requirement that names that exact version.
public struct VersionRequirement: Sendable, Hashable, CustomStringConvertible {
    enum Comparator: Sendable, Hashable {
        case equal(SemanticVersion), atLeast(SemanticVersion), above(SemanticVersion), below(SemanticVersion), atMost(SemanticVersion)
    }

    let comparators: [Comparator]
    public let description: String

    public static let any = VersionRequirement(comparators: [], description: "*")

    init(comparators: [Comparator], description: String) {
        self.comparators = comparators
        self.description = description
    }

    public init?(_ text: String) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty else { return nil }
        if trimmed == "*" { self = .any; return }
        var comparators: [Comparator] = []
        let terms = trimmed.split(whereSeparator: { $0 == " " || $0 == "," })
        if terms.count == 1, let first = trimmed.first, first == "^" || first == "~" {
            guard let (low, parts) = Self.partial(trimmed.dropFirst()) else { return nil }
            let high: SemanticVersion
            if first == "~" || (low.major == 0 && parts >= 2 && low.minor != 0) || (low.major == 0 && parts == 2) {
                high = parts == 1 ? SemanticVersion(low.major + 1, 0, 0) : SemanticVersion(low.major, low.minor + 1, 0)
            } else if low.major == 0 && parts == 3 && low.minor == 0 {
                high = SemanticVersion(0, 0, low.patch + 1)
            } else {
                high = SemanticVersion(low.major + 1, 0, 0)
            }
            comparators = [.atLeast(low), .below(high)]
        } else {
            for term in terms {
                let operators: [(String, (SemanticVersion) -> Comparator)] = [
                    (">=", Comparator.atLeast), ("<=", Comparator.atMost), (">", Comparator.above), ("<", Comparator.below), ("=", Comparator.equal),
                ]
                var matched = false
                for (symbol, make) in operators where term.hasPrefix(symbol) {
                    guard let (version, _) = Self.partial(term.dropFirst(symbol.count)) else { return nil }
                    comparators.append(make(version))
                    matched = true
                    break
                }
                if !matched {
                    guard terms.count == 1, let version = SemanticVersion(String(term)) else { return nil }
                    comparators.append(.equal(version))
                }
            }
        }
        self.init(comparators: comparators, description: trimmed)
    }

    /// `1`, `1.2` or a full version; the number of parts given.
    private static func partial(_ text: Substring) -> (SemanticVersion, Int)? {
        if let full = SemanticVersion(String(text)) { return (full, 3) }
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), let numbers = SemanticVersion.numbers(parts) else { return nil }
        return (SemanticVersion(numbers[0], numbers.count > 1 ? numbers[1] : 0, 0), parts.count)
    }

    public func matches(_ version: SemanticVersion) -> Bool {
        if !version.prerelease.isEmpty {
            return comparators.contains { if case .equal(let exact) = $0 { return exact == version } else { return false } }
        }
        return comparators.allSatisfy { comparator in
            switch comparator {
            case .equal(let v): return version == v
            case .atLeast(let v): return version >= v
            case .above(let v): return version > v
            case .below(let v): return version < v
            case .atMost(let v): return version <= v
            }
        }
    }
}

/// How a flow or a dependency names a plugin: `NAME` (its highest loaded version) or `NAME@REQUIREMENT`.
public struct PluginReference: Sendable, Hashable, CustomStringConvertible {
    public let name: String
    public let requirement: VersionRequirement

    public init(name: String, requirement: VersionRequirement = .any) {
        self.name = name
        self.requirement = requirement
    }

    /// nil when the name is not a plugin name or the requirement does not parse.
    public init?(_ text: String) {
        let parts = text.split(separator: "@", maxSplits: 1, omittingEmptySubsequences: false)
        let name = String(parts[0])
        guard name.wholeMatch(of: /[a-z][a-z0-9]*(?:-[a-z0-9]+)*/) != nil else { return nil }
        if parts.count == 2 {
            guard let requirement = VersionRequirement(String(parts[1])) else { return nil }
            self.init(name: name, requirement: requirement)
        } else {
            self.init(name: name)
        }
    }

    public var description: String { requirement == .any && requirement.description == "*" ? name : "\(name)@\(requirement)" }
}
