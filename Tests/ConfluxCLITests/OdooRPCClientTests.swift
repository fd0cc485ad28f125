import Foundation
import Testing

/// The Odoo simulator must be faithful enough for a real third-party Odoo client: this installs `odoorpc` from PyPI
/// into a fresh virtual environment and drives `conflux simulate odoo` with it.
@Suite(.serialized) struct OdooRPCClientTests {
    static let script = #"""
    import sys, odoorpc
    odoo = odoorpc.ODOO('127.0.0.1', port=int(sys.argv[1]))
    print('version', odoo.version)
    odoo.login('clinic', 'conflux-bot', sys.argv[2])
    print('user', odoo.env.user.name)
    Partner = odoo.env['res.partner']
    pid = Partner.create({'name': 'Jane Roe', 'ref': 'MRN-77'})
    print('search_read', Partner.search_read([('ref', '=', 'MRN-77')], ['name', 'ref']))
    Partner.browse(pid).name = 'Jane Q. Roe'
    Partner.write([pid], {'email': 'jane@example.org'})
    print('read', Partner.read([pid], ['name', 'email']))
    print('count', odoo.execute_kw('res.partner', 'search_count', [[('name', 'ilike', 'roe')]]))
    product = odoo.env['product.product'].search([('default_code', '=', 'SVC-99213')])[0]
    move = odoo.execute_kw('account.move', 'create', [{'move_type': 'out_invoice', 'partner_id': pid,
        'invoice_line_ids': [(0, 0, {'product_id': product, 'quantity': 2, 'price_unit': 125.0})]}])
    odoo.env['account.move'].browse(move).action_post()
    invoice = odoo.execute_kw('account.move', 'read', [[move]], {'fields': ['name', 'state', 'amount_total']})[0]
    print('invoice', invoice['name'], invoice['state'], float(invoice['amount_total']))
    try:
        Partner.create({'name': ''})
    except odoorpc.error.RPCError as error:
        print('error', error.info['data']['name'], str(error))
    try:
        odoorpc.ODOO('127.0.0.1', port=int(sys.argv[1])).login('clinic', 'conflux-bot', 'wrong-key')
    except odoorpc.error.RPCError as error:
        print('login refused', str(error))
    """#

    @Test func odoorpcFromPyPILogsInCreatesSearchesWritesAndPosts() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("conflux-odoorpc-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let venv = folder.appendingPathComponent("venv").path
        #expect(try Self.run("/usr/bin/env", ["python3", "-m", "venv", venv]).status == 0)
        let install = try Self.run(venv + "/bin/pip", ["install", "--quiet", "--disable-pip-version-check", "odoorpc"], timeout: 300)
        try #require(install.status == 0, "pip install odoorpc failed: \(install.output)")

        let odoo = try SimulatorProcess(["odoo", "--api-key", "odoorpc-test-key"])
        let scriptURL = folder.appendingPathComponent("drive.py")
        try Data(Self.script.utf8).write(to: scriptURL)
        let result = try Self.run(venv + "/bin/python", [scriptURL.path, String(odoo.port), "odoorpc-test-key"])
        print(result.output)
        #expect(result.status == 0, "\(result.output)")
        let output = result.output
        #expect(output.contains("version 19.0"))
        #expect(output.contains("user Conflux Bot"))
        // The new contact's id follows the seeded ones (the clinic, the supplier): whatever it is, search and read agree.
        let created = try #require(output.firstMatch(of: /search_read \[\{'id': (\d+), 'name': 'Jane Roe', 'ref': 'MRN-77'\}\]/), "\(output)")
        #expect(output.contains("read [{'email': 'jane@example.org', 'id': \(created.1), 'name': 'Jane Q. Roe'}]"), "\(output)")
        #expect(output.contains("count 1"))
        #expect(output.contains("invoice INV/") && output.contains("posted 250.0"))
        #expect(output.contains("error odoo.exceptions.ValidationError Contacts require a name"))
        #expect(output.contains("login refused Wrong login ID or password"))
    }

    static func run(_ executable: String, _ arguments: [String], timeout: TimeInterval = 60) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("conflux-run-\(UUID().uuidString)")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: log) }
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning { process.terminate(); process.waitUntilExit() }
        try handle.close()
        return (process.terminationStatus, (try? String(contentsOf: log, encoding: .utf8)) ?? "")
    }
}
