import Foundation
import LuaRuntime

/// Where the project's folders are: `$CONFLUX_HOME`, else the nearest directory above the working directory (or above
/// the executable, for a binary run from `.build/`) that holds `sandbox/profiles/`.
struct ProjectLayout {
    let root: URL
    var sandboxProfiles: URL { root.appendingPathComponent("sandbox/profiles") }
    var plugins: URL { root.appendingPathComponent("plugins") }

    static func locate() throws -> ProjectLayout {
        if let home = ProcessInfo.processInfo.environment["CONFLUX_HOME"], !home.isEmpty {
            return ProjectLayout(root: URL(fileURLWithPath: home))
        }
        let starts = [URL(fileURLWithPath: FileManager.default.currentDirectoryPath),
                      URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()]
        for start in starts {
            var directory = start.standardizedFileURL
            while true {
                if FileManager.default.fileExists(atPath: directory.appendingPathComponent("sandbox/profiles/production.yaml").path) {
                    return ProjectLayout(root: directory)
                }
                let parent = directory.deletingLastPathComponent()
                if parent.path == directory.path { break }
                directory = parent
            }
        }
        throw CLIError("cannot find the Conflux project (a folder with sandbox/profiles/); run from inside it or set CONFLUX_HOME")
    }

    func profile(_ name: String) throws -> SandboxProfile {
        do {
            return try SandboxProfile.load(named: name, from: sandboxProfiles)
        } catch {
            throw CLIError("\(error)")
        }
    }
}

struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
