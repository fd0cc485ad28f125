import Foundation

/// How file paths are shown in messages: relative to the working directory when below it, so errors read
/// `plugins/odoo/plugin.lua:12` rather than an absolute path.
enum PluginPaths {
    static func display(_ url: URL) -> String {
        let path = url.standardizedFileURL.path
        let cwd = FileManager.default.currentDirectoryPath
        let prefix = cwd.hasSuffix("/") ? cwd : cwd + "/"
        return path.hasPrefix(prefix) ? String(path.dropFirst(prefix.count)) : path
    }
}
