/// An error as Odoo reports it: the fully qualified name of the Python exception and its message. Over `/jsonrpc` it
/// travels in the JSON-RPC `error.data`; over `/json/2` as the body, with the HTTP status Odoo's JSON-2 dispatcher gives it.
public struct OdooError: Error, Sendable {
    public let name: String
    public let message: String
    public let status: Int

    static func validation(_ message: String) -> OdooError { OdooError(name: "odoo.exceptions.ValidationError", message: message, status: 422) }
    static func user(_ message: String) -> OdooError { OdooError(name: "odoo.exceptions.UserError", message: message, status: 422) }
    static func missing(_ message: String) -> OdooError { OdooError(name: "odoo.exceptions.MissingError", message: message, status: 404) }
    static func access(_ message: String) -> OdooError { OdooError(name: "odoo.exceptions.AccessError", message: message, status: 403) }
    static let accessDenied = OdooError(name: "odoo.exceptions.AccessDenied", message: "Access Denied", status: 401)
    static let serialization = OdooError(name: "psycopg2.errors.SerializationFailure",
                                         message: "could not serialize access due to concurrent update", status: 503)
    static func value(_ message: String) -> OdooError { OdooError(name: "builtins.ValueError", message: message, status: 422) }
    static func type(_ message: String) -> OdooError { OdooError(name: "builtins.TypeError", message: message, status: 422) }
    static func attribute(_ model: String, _ method: String) -> OdooError {
        OdooError(name: "builtins.AttributeError", message: "The method '\(method)' does not exist on the model '\(model)'", status: 404)
    }

    /// The traceback Odoo would attach (`debug`): a stand-in naming the simulator, so nobody mistakes it for Odoo's.
    var debug: String { "Traceback (most recent call last):\n  File \"conflux-simulator\", in odoo\n\(name): \(message)\n" }

    /// The JSON-RPC `error` member (code 200, "Odoo Server Error", like Odoo's `serialize_exception`).
    var jsonRPC: JSONValue {
        .object(["code": .int(200), "message": .string("Odoo Server Error"), "data": data])
    }

    /// The JSON-2 error body.
    var data: JSONValue {
        .object(["name": .string(name), "message": .string(message), "arguments": .array([.string(message)]),
                 "context": .object([:]), "debug": .string(debug)])
    }
}
