import Crypto
import Foundation

/// The sha256 an approval pins: over the `sha256sum` listing of every file of the entry (plugin folder or flow file),
/// sorted by path — `HEX  PATH\n` per file, paths relative to the folder. A reviewer can reproduce it with
/// `cd plugins/NAME && find . -type f -printf '%P\n' | LC_ALL=C sort | xargs -d '\n' sha256sum | sha256sum`.
/// Symbolic links are refused (they could point anywhere), so what is hashed is what loads.
public struct FolderHash: Sendable, Equatable {
    public let sha256: String
    /// Each file's sha256, by relative path.
    public let files: [String: String]

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    public static func of(_ url: URL) throws(Failure) -> FolderHash {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw Failure(description: "\(url.path) does not exist")
        }
        var files: [String: String] = [:]
        if isDirectory.boolValue {
            guard let enumerator = FileManager.default.enumerator(at: url, includingPropertiesForKeys: [.isRegularFileKey, .isSymbolicLinkKey]) else {
                throw Failure(description: "cannot list \(url.path)")
            }
            let base = url.standardizedFileURL.resolvingSymlinksInPath().path + "/"
            for case let file as URL in enumerator {
                let values = try? file.resourceValues(forKeys: [.isRegularFileKey, .isSymbolicLinkKey])
                let path = file.standardizedFileURL.resolvingSymlinksInPath().path
                let relative = path.hasPrefix(base) ? String(path.dropFirst(base.count)) : file.lastPathComponent
                if values?.isSymbolicLink == true { throw Failure(description: "\(url.path)/\(relative) is a symbolic link; entries hold regular files only") }
                guard values?.isRegularFile == true else { continue }
                files[relative] = try digest(file)
            }
        } else {
            files[url.lastPathComponent] = try digest(url)
        }
        let listing = files.keys.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
            .map { "\(files[$0]!)  \($0)\n" }.joined()
        return FolderHash(sha256: hex(SHA256.hash(data: Data(listing.utf8))), files: files)
    }

    private static func digest(_ file: URL) throws(Failure) -> String {
        guard let data = try? Data(contentsOf: file) else { throw Failure(description: "cannot read \(file.path)") }
        return hex(SHA256.hash(data: data))
    }

    public static func hex(_ digest: SHA256.Digest) -> String { digest.map { String(format: "%02x", $0) }.joined() }

    /// What changed from `old` (a decision's file list) to this: paths added, removed and modified.
    public func changes(since old: [String: String]) -> (added: [String], removed: [String], modified: [String]) {
        let added = files.keys.filter { old[$0] == nil }.sorted()
        let removed = old.keys.filter { files[$0] == nil }.sorted()
        let modified = files.keys.filter { old[$0] != nil && old[$0] != files[$0] }.sorted()
        return (added, removed, modified)
    }
}
