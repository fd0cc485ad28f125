import NIOCore
import NIOPosix
import Synchronization

/// A misbehaving TCP server on 127.0.0.1 with an ephemeral port, below HTTP.
final class RawServer: Sendable {
    enum Behaviour: Sendable {
        /// Reads the request and never answers.
        case silent
        /// Resets the connection (RST, via SO_LINGER 0) as soon as request bytes arrive.
        case resetOnRead
        /// Sends the start of a response promising more body than it sends, then closes.
        case partialResponse
    }

    let port: Int
    private let group: MultiThreadedEventLoopGroup
    private let channel: any Channel
    private let connections: ConnectionCounter

    /// Connections accepted so far.
    var connectionCount: Int { connections.count }

    private init(port: Int, group: MultiThreadedEventLoopGroup, channel: any Channel, connections: ConnectionCounter) {
        self.port = port
        self.group = group
        self.channel = channel
        self.connections = connections
    }

    static func start(_ behaviour: Behaviour) async throws -> RawServer {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let counter = ConnectionCounter()
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                counter.increment()
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(Handler(behaviour))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return RawServer(port: channel.localAddress?.port ?? 0, group: group, channel: channel, connections: counter)
    }

    func stop() async {
        try? await channel.close()
        try? await group.shutdownGracefully()
    }

    private final class ConnectionCounter: Sendable {
        private let value = Mutex(0)
        func increment() { value.withLock { $0 += 1 } }
        var count: Int { value.withLock { $0 } }
    }

    private final class Handler: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        let behaviour: Behaviour
        init(_ behaviour: Behaviour) { self.behaviour = behaviour }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch behaviour {
            case .silent:
                break
            case .resetOnRead:
                // SO_LINGER with a zero timeout turns close into a reset.
                let channel = context.channel
                guard let socket = channel as? any SocketOptionProvider else { return channel.close(promise: nil) }
                socket.setSoLinger(linger(l_onoff: 1, l_linger: 0)).whenComplete { _ in channel.close(promise: nil) }
            case .partialResponse:
                let text = "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nContent-Type: text/plain\r\n\r\npartial"
                let buffer = context.channel.allocator.buffer(string: text)
                let channel = context.channel
                context.writeAndFlush(NIOAny(buffer)).whenComplete { _ in channel.close(promise: nil) }
            }
        }
    }
}
