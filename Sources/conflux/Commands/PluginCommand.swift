import ArgumentParser
struct PluginCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "xPluginCommand")
    func run() async throws {}
}
