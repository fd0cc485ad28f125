import Foundation

/// Rewrites a manifest's `status` and `approvals` in place, leaving every other line (comments included) as the
/// author wrote it, so a governance decision is a small, readable diff in review.
///
/// A top-level key's block runs from its line to the next line that starts a top-level key or a top-level comment
/// (comments directly above a key belong to that key). Values are written as double-quoted YAML scalars, which take
/// JSON's escapes, so nothing a reviewer types can change the document's structure.
enum ManifestWriter {
    static func replacing(status: Manifest.Status, approvals: [Manifest.Decision], in text: String) -> String {
        var lines = text.components(separatedBy: "\n")
        if lines.last == "" { lines.removeLast() }
        lines = replace("status", with: ["status: \(status.rawValue)"], in: lines)
        lines = replace("approvals", with: render(approvals), in: lines)
        return lines.joined(separator: "\n") + "\n"
    }

    /// The manifest without its governance blocks: what an approval pins besides the folder, so widening an egress
    /// list or a secret list after approval is caught like a changed plugin.
    static func governedText(_ text: String) -> String {
        var lines = text.components(separatedBy: "\n")
        if lines.last == "" { lines.removeLast() }
        lines = replace("status", with: [], in: lines, appendIfMissing: false)
        lines = replace("approvals", with: [], in: lines, appendIfMissing: false)
        return lines.joined(separator: "\n") + "\n"
    }

    static func render(_ approvals: [Manifest.Decision]) -> [String] {
        guard !approvals.isEmpty else { return ["approvals: []"] }
        let formatter = ISO8601DateFormatter()
        var out = ["approvals:"]
        for decision in approvals {
            out.append("  - decision: \(decision.decision.rawValue)")
            out.append("    reviewer: \(quote(decision.reviewer))")
            out.append("    at: \(formatter.string(from: decision.at))")
            out.append("    reason: \(quote(decision.reason))")
            out.append("    sha256: \(decision.sha256)")
            if let manifestHash = decision.manifestSHA256 { out.append("    manifest_sha256: \(manifestHash)") }
            if decision.files.isEmpty { continue }
            out.append("    files:")
            for path in decision.files.keys.sorted() { out.append("      \(quote(path)): \(decision.files[path]!)") }
        }
        return out
    }

    /// Not `JSONText.string`: YAML also folds NEL (U+0085), U+2028 and U+2029 as line breaks inside a double-quoted
    /// scalar and strips a BOM, so those are escaped here too, or a reviewer's text would come back changed.
    static func quote(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7f || (0x80...0x9f).contains(scalar.value) || scalar.value == 0x2028 || scalar.value == 0x2029 || scalar.value == 0xFEFF {
                    out += String(format: "\\u%04x", scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    private static func isTopLevelKey(_ line: String) -> Bool {
        line.wholeMatch(of: /[A-Za-z_][A-Za-z0-9_]*[ \t]*:(?:[ \t].*)?/) != nil
    }

    private static func replace(_ key: String, with replacement: [String], in lines: [String], appendIfMissing: Bool = true) -> [String] {
        guard let start = lines.firstIndex(where: { isTopLevelKey($0) && $0.hasPrefix(key) && $0.dropFirst(key.count).drop(while: { $0 == " " || $0 == "\t" }).first == ":" }) else {
            return appendIfMissing ? lines + replacement : lines
        }
        var end = start + 1
        while end < lines.count, !isTopLevelKey(lines[end]), !lines[end].hasPrefix("#") { end += 1 }
        // Trailing blank lines separate blocks; keep them outside the replaced block.
        while end - 1 > start, lines[end - 1].trimmingCharacters(in: .whitespaces).isEmpty { end -= 1 }
        return Array(lines[..<start]) + replacement + Array(lines[end...])
    }
}
