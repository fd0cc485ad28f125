import Catalog
import Crypto
import Foundation
import LuaRuntime

/// `PUT /api/plugins/{id}/files/{path}` (developer tokens, staging and dev): writes one file of a plugin's folder,
/// atomically, and lets the hot reload take it from there. The path must stay inside the folder.
enum PluginFileWriter {
    static func write(id: String, path: String, bytes: [UInt8], catalog: Catalog, pluginsDirectory: URL) -> (status: Int, body: String) {
        func failure(_ status: Int, _ code: String, _ message: String) -> (Int, String) {
            (status, JSONText.object([("error", JSONText.object([("code", JSONText.string(code)), ("message", JSONText.string(message))]))]))
        }
        let components = path.split(separator: "/", omittingEmptySubsequences: false)
        guard !components.isEmpty, components.allSatisfy({ !$0.isEmpty && $0 != "." && $0 != ".." && !$0.hasPrefix(".")
            && $0.allSatisfy { $0.isLetter || $0.isNumber || "._-".contains($0) } && $0.utf8.allSatisfy { $0 < 0x80 } }) else {
            return failure(400, "bad_path", "'\(path)' is not a plugin file path (letters, digits, '.', '_', '-' and '/'; no hidden files, no '..')")
        }
        let folder: URL
        if let manifest = catalog.entry(id: id) {
            guard manifest.kind != .flow else { return failure(400, "not_a_plugin", "\(id) is a flow; edit flows in the repository") }
            folder = catalog.entryURL(manifest)
        } else if Plugin.isValidName(id), !catalog.entries.contains(where: { $0.name == id }),
                  FileManager.default.fileExists(atPath: pluginsDirectory.appendingPathComponent(id).path) {
            folder = pluginsDirectory.appendingPathComponent(id)
        } else {
            return failure(404, "not_found", "no plugin \(id) (name a catalog entry as NAME@VERSION)")
        }
        let target = folder.appendingPathComponent(path)
        do {
            try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(bytes).write(to: target, options: .atomic)
        } catch {
            return failure(500, "write_failed", "cannot write \(path): \(error)")
        }
        let hash = FolderHash.hex(SHA256.hash(data: Data(bytes)))
        return (202, JSONText.object([("plugin", JSONText.string(id)), ("path", JSONText.string(path)), ("sha256", JSONText.string(hash)),
                                      ("note", JSONText.string("written; the hot reload validates, tests and swaps it (see GET /api/catalog/status)"))]))
    }
}
