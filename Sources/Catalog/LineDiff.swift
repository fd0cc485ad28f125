/// A unified diff of two texts (`diff -u` style hunks with three lines of context), on the standard library's
/// `CollectionDifference` (Myers' algorithm), so `conflux catalog diff` needs no external tool.
public enum LineDiff {
    public static func unified(old: String, new: String, oldName: String, newName: String, context: Int = 3) -> String {
        let a = lines(old), b = lines(new)
        let difference = b.difference(from: a)
        var removed = Set<Int>(), inserted = Set<Int>()
        for change in difference {
            switch change {
            case .remove(let offset, _, _): removed.insert(offset)
            case .insert(let offset, _, _): inserted.insert(offset)
            }
        }
        guard !removed.isEmpty || !inserted.isEmpty else { return "" }
        // The edit script: (mark, old line number, new line number, text).
        var script: [(Character, Int, Int, String)] = []
        var i = 0, j = 0
        while i < a.count || j < b.count {
            if i < a.count, removed.contains(i) { script.append(("-", i, j, a[i])); i += 1 }
            else if j < b.count, inserted.contains(j) { script.append(("+", i, j, b[j])); j += 1 }
            else { script.append((" ", i, j, a[i])); i += 1; j += 1 }
        }
        var out = "--- \(oldName)\n+++ \(newName)\n"
        var index = 0
        while index < script.count {
            guard script[index].0 != " " else { index += 1; continue }
            let start = max(0, index - context)
            var end = index
            // Extend the hunk while changes are within 2×context lines of each other.
            while end < script.count {
                if script[end].0 != " " { end += 1; continue }
                let nextChange = script[end...].firstIndex { $0.0 != " " }
                if let nextChange, nextChange - end <= 2 * context { end = nextChange } else { break }
            }
            let stop = min(script.count, end + context)
            let hunk = script[start..<stop]
            let oldCount = hunk.filter { $0.0 != "+" }.count, newCount = hunk.filter { $0.0 != "-" }.count
            let oldStart = hunk.first!.1 + (oldCount == 0 ? 0 : 1), newStart = hunk.first!.2 + (newCount == 0 ? 0 : 1)
            out += "@@ -\(oldStart),\(oldCount) +\(newStart),\(newCount) @@\n"
            for line in hunk { out += "\(line.0)\(line.3)\n" }
            index = stop
        }
        return out
    }

    private static func lines(_ text: String) -> [String] {
        var lines = text.components(separatedBy: "\n")
        if lines.last == "" { lines.removeLast() }
        return lines
    }
}
