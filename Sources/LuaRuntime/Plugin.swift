import Foundation

/// A plugin on disk: `plugins/NAME/` with its entry file `plugin.lua`, tests in `spec/*_spec.lua` and fixtures.
///
/// The entry file returns a table: `kind` ("source", "mapping" or "connector") and the hooks of that kind. Functions
/// whose names start with `_` are the plugin's own helpers (reachable from its tests); any other function that is not
/// a hook of its kind is reported as a misnamed hook.
public struct Plugin: Sendable {
    public static let entryFileName = "plugin.lua"
    public static let specDirectoryName = "spec"

    public let name: String
    public let folder: URL

    public var entryFile: URL { folder.appendingPathComponent(Self.entryFileName) }
    public var specDirectory: URL { folder.appendingPathComponent(Self.specDirectoryName) }

    public init(name: String, folder: URL) {
        self.name = name
        self.folder = folder
    }

    /// Finds a plugin by folder path (anything containing a `/`, or an existing folder) or by name under `plugins/`.
    public static func locate(_ nameOrPath: String, pluginsDirectory: URL) throws -> Plugin {
        var isDirectory: ObjCBool = false
        let looksLikePath = nameOrPath.contains("/") || nameOrPath.hasPrefix(".")
        let folder = looksLikePath
            ? URL(fileURLWithPath: nameOrPath).standardizedFileURL
            : pluginsDirectory.appendingPathComponent(nameOrPath)
        guard FileManager.default.fileExists(atPath: folder.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw PluginError.notFound(nameOrPath, searched: PluginPaths.display(folder))
        }
        let plugin = Plugin(name: folder.lastPathComponent, folder: folder)
        guard FileManager.default.fileExists(atPath: plugin.entryFile.path) else {
            throw PluginError.noEntryFile(plugin.name, PluginPaths.display(plugin.entryFile))
        }
        return plugin
    }

    /// Valid plugin names: what a folder, a catalog entry and a metric label can all carry.
    public static func isValidName(_ name: String) -> Bool {
        name.wholeMatch(of: /[a-z][a-z0-9]*(-[a-z0-9]+)*/) != nil && name.count <= 64
    }

    public func specFiles() -> [URL] {
        let files = (try? FileManager.default.contentsOfDirectory(at: specDirectory, includingPropertiesForKeys: nil)) ?? []
        return files.filter { $0.lastPathComponent.hasSuffix("_spec.lua") }.sorted { $0.path < $1.path }
    }
}

public enum PluginError: Error, CustomStringConvertible {
    case notFound(String, searched: String)
    case noEntryFile(String, String)
    case unreadable(String, String)

    public var description: String {
        switch self {
        case .notFound(let name, let searched): return "plugin '\(name)' not found (no folder \(searched))"
        case .noEntryFile(let name, let path): return "plugin '\(name)' has no entry file \(path)"
        case .unreadable(let path, let reason): return "cannot read \(path): \(reason)"
        }
    }
}
