import ArgumentParser

@main
struct Conflux: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "conflux",
        abstract: "The integration runtime for healthcare organisations running Odoo: sandboxed Lua plugins, a Swift host.",
        subcommands: [ServeCommand.self, CatalogCommand.self, TokensCommand.self, MessagesCommand.self, DlqCommand.self, SecretsCommand.self, AuditCommand.self, SandboxCommand.self, PluginCommand.self, BenchCommand.self, SimulateCommand.self, SchedulesCommand.self, DemoCommand.self]
    )
}
