/// Something wrong (or smelly) in the catalog, with where it is: file, line, field, and what was expected.
public struct CatalogProblem: Sendable, Equatable, CustomStringConvertible {
    public enum Severity: String, Sendable { case error, warning }

    public let severity: Severity
    public let file: String
    public let line: Int
    public let field: String
    public let message: String
    /// The entry (`NAME@VERSION`) the problem belongs to, when the file got that far; an entry with an error is not
    /// loaded anywhere.
    public let entry: String?

    public init(_ severity: Severity, file: String, line: Int, field: String, message: String, entry: String? = nil) {
        self.severity = severity
        self.file = file
        self.line = line
        self.field = field
        self.message = message
        self.entry = entry
    }

    public var description: String { "\(file):\(line): \(severity.rawValue): \(field): \(message)" }
}
