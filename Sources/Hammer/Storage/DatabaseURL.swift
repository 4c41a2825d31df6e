import Foundation
import NIOSSL
import PostgresNIO

/// A parsed `postgres://` URL: TCP host and port, or a unix socket directory given by `?host=/path`.
public struct DatabaseURL: Sendable, Equatable {
    public enum SSLMode: String, Sendable {
        case disable, allow, prefer, require
        case verifyCA = "verify-ca"
        case verifyFull = "verify-full"
    }

    public var host: String
    public var port: Int
    public var unixSocketDirectory: String?
    public var username: String
    public var password: String?
    public var database: String
    public var sslMode: SSLMode

    public struct ParseError: Error { public var reason: String }

    public init(_ string: String) throws(ParseError) {
        guard let components = URLComponents(string: string),
            let scheme = components.scheme, scheme == "postgres" || scheme == "postgresql"
        else {
            throw ParseError(reason: "must be a URL like postgres://user:pass@host:5432/db?sslmode=disable")
        }
        let query = Dictionary((components.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { _, last in last })
        self.host = components.host.flatMap { $0.isEmpty ? nil : $0 } ?? "localhost"
        self.port = components.port ?? Int(query["port"] ?? "") ?? 5432
        if let socketHost = query["host"], socketHost.hasPrefix("/") {
            self.unixSocketDirectory = socketHost
        }
        guard let user = components.user ?? query["user"], !user.isEmpty else {
            throw ParseError(reason: "must name a user (postgres://user@host/db)")
        }
        self.username = user
        self.password = components.password ?? query["password"]
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        guard !path.isEmpty else { throw ParseError(reason: "must name a database (postgres://user@host/db)") }
        self.database = path
        guard let mode = SSLMode(rawValue: query["sslmode"] ?? "prefer") else {
            throw ParseError(reason: "has an unknown sslmode \"\(query["sslmode"] ?? "")\" (disable, prefer, require, verify-ca, verify-full)")
        }
        self.sslMode = mode
    }

    /// The URL back as a string (password included), e.g. to hand to a child process.
    public var urlString: String {
        var components = URLComponents()
        components.scheme = "postgres"
        components.user = username
        components.password = password
        components.host = host
        components.port = port
        components.path = "/" + database
        var query = [URLQueryItem(name: "sslmode", value: sslMode.rawValue)]
        if let unixSocketDirectory { query.append(URLQueryItem(name: "host", value: unixSocketDirectory)) }
        components.queryItems = query
        return components.string ?? ""
    }

    /// The same server, another database (tests create one database per test).
    public func with(database: String) -> DatabaseURL {
        var copy = self
        copy.database = database
        return copy
    }

    /// The PostgresNIO client configuration for this URL with a pool of `maxConnections`.
    public func clientConfiguration(maxConnections: Int) -> PostgresClient.Configuration {
        var configuration: PostgresClient.Configuration
        if let directory = unixSocketDirectory {
            configuration = .init(
                unixSocketPath: "\(directory)/.s.PGSQL.\(port)",
                username: username,
                password: password,
                database: database
            )
        } else {
            configuration = .init(host: host, port: port, username: username, password: password, database: database, tls: tls)
        }
        configuration.options.maximumConnections = maxConnections
        // The pool arms a keep-alive timer and an idle timer at every release of a connection, and on Linux a cancelled
        // sleep holds its memory until the time it was for: at 2,000 deliveries/s the worker grew 1 MB/s and spent
        // 15% of its CPU on them. So no keep-alive queries (a connection a middlebox dropped fails its next query,
        // which the worker retries and the API answers 503), and idle connections close after 10 s rather than 60 s.
        // Keeping every connection open (minimumConnections = maximum) would avoid the idle timers too, but
        // PostgresNIO 1.33 then trips a precondition when PostgreSQL restarts.
        configuration.options.keepAliveBehavior = nil
        configuration.options.connectionIdleTimeout = .seconds(10)
        configuration.options.connectTimeout = .seconds(5)
        let timeout = Store.statementTimeout.components.seconds
        configuration.options.additionalStartupParameters = [("statement_timeout", "\(timeout)s")]
        return configuration
    }

    private var tls: PostgresClient.Configuration.TLS {
        switch sslMode {
        case .disable: return .disable
        case .allow, .prefer, .require:
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.certificateVerification = .none
            return sslMode == .require ? .require(tls) : .prefer(tls)
        case .verifyCA:
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.certificateVerification = .noHostnameVerification
            return .require(tls)
        case .verifyFull:
            return .require(TLSConfiguration.makeClientConfiguration())
        }
    }
}
