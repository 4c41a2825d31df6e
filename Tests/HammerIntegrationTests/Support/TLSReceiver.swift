import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// An HTTPS server on 127.0.0.1 with a fresh self-signed certificate for `name` (made by the openssl command),
/// answering every request 200 and recording its `Host` header. Tests trust `certificate` explicitly.
final class TLSReceiver: Sendable {
    let port: Int
    let certificate: NIOSSLCertificate
    private let channel: any Channel
    private let hosts = NIOLockedValueBox<[String]>([])
    private let connections = NIOLockedValueBox(0)

    /// `Host` headers of the requests received.
    var receivedHosts: [String] { hosts.withLockedValue { $0 } }
    /// TCP connections accepted, handshake or not.
    var connectionCount: Int { connections.withLockedValue { $0 } }

    private init(port: Int, certificate: NIOSSLCertificate, channel: any Channel) {
        self.port = port
        self.certificate = certificate
        self.channel = channel
    }

    static func start(name: String) async throws -> TLSReceiver {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hammer-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let key = directory.appendingPathComponent("key.pem").path
        let cert = directory.appendingPathComponent("cert.pem").path
        let openssl = Process()
        openssl.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        openssl.arguments = [
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert,
            "-days", "1", "-subj", "/CN=\(name)", "-addext", "subjectAltName=DNS:\(name)",
        ]
        openssl.standardOutput = FileHandle.nullDevice
        openssl.standardError = FileHandle.nullDevice
        try openssl.run()
        openssl.waitUntilExit()
        guard openssl.terminationStatus == 0 else { throw TestDatabase.SetupError("openssl could not make a certificate") }
        guard let certificate = try NIOSSLCertificate.fromPEMFile(cert).first else { throw TestDatabase.SetupError("no certificate in \(cert)") }
        let configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: [.certificate(certificate)],
            privateKey: .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))
        )
        let context = try NIOSSLContext(configuration: configuration)

        let box = NIOLockedValueBox<TLSReceiver?>(nil)
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { child in
                child.eventLoop.makeCompletedFuture {
                    box.withLockedValue { $0 }?.connections.withLockedValue { $0 += 1 }
                    try child.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
                    try child.pipeline.syncOperations.configureHTTPServerPipeline()
                    try child.pipeline.syncOperations.addHandler(
                        Responder { host in box.withLockedValue { $0 }?.hosts.withLockedValue { $0.append(host) } }
                    )
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let receiver = TLSReceiver(port: channel.localAddress?.port ?? 0, certificate: certificate, channel: channel)
        box.withLockedValue { $0 = receiver }
        return receiver
    }

    func stop() async { try? await channel.close() }

    private final class Responder: ChannelInboundHandler, Sendable {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let onRequest: @Sendable (String) -> Void

        init(onRequest: @escaping @Sendable (String) -> Void) { self.onRequest = onRequest }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head): onRequest(head.headers.first(name: "Host") ?? "")
            case .body: break
            case .end:
                let body = ByteBuffer(string: #"{"ok":true}"#)
                let head = HTTPResponseHead(version: .http1_1, status: .ok, headers: ["Content-Length": "\(body.readableBytes)"])
                context.write(wrapOutboundOut(.head(head)), promise: nil)
                context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            }
        }
    }
}
