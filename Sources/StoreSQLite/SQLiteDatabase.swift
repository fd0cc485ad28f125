import Foundation
import GRDB
import Store

/// Opens the data directory's SQLite file the same way for every user of it (queue, secrets): WAL (GRDB's pool),
/// synchronous=FULL, memory-mapped reads, a busy timeout, migrations applied.
enum SQLiteDatabase {
    static func open(path: String) throws -> DatabasePool {
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
            try db.execute(sql: "PRAGMA foreign_keys = ON")
            // Read pages through a memory map instead of a pread system call each.
            try db.execute(sql: "PRAGMA mmap_size = 268435456")
        }
        configuration.busyMode = .timeout(5)
        do {
            try FileManager.default.createDirectory(at: URL(fileURLWithPath: path).deletingLastPathComponent(),
                                                    withIntermediateDirectories: true)
            let pool = try DatabasePool(path: path, configuration: configuration)
            try SQLiteMigrations.migrator.migrate(pool)
            return pool
        } catch {
            throw StoreError.unavailable("cannot open \(path): \(error)")
        }
    }
}
