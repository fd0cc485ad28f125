import ArgumentParser
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "xBenchCommand")
    func run() async throws {}
}
