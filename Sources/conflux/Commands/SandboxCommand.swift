import ArgumentParser
struct SandboxCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "xSandboxCommand")
    func run() async throws {}
}
