import Chopin

/// A feature switch: answers 403 when the request carries its header, and
/// otherwise lets it through untouched (one header lookup).
struct FeatureGate: SyncMiddleware {
    let header: String

    func before(_ request: inout Request) throws -> Response? {
        request.header(header) == nil ? nil : Response(status: .forbidden)
    }
}

/// A middleware that may await and does not: what the pipeline itself
/// costs when a route goes async for its middleware.
struct PassThrough: Middleware {
    func handle(_ request: Request, next: Next) async throws -> Response {
        try await next(request)
    }
}

/// The middleware costs the benchmarks measure, beside `/plaintext` and
/// `/json`: `GET /layered/plaintext` behind three synchronous middleware,
/// `GET /awaiting/json` behind one that may await, `GET /traced/json` behind
/// ``TracingMiddleware`` (a span per request once a tracer is bootstrapped;
/// nothing at all without one), `GET /metered/json` behind ``RouteMetrics``.
func addLayeredRoutes(to router: Router) {
    router.group("/layered") { layered in
        layered.use(FeatureGate(header: "X-Gate-1"))
        layered.use(FeatureGate(header: "X-Gate-2"))
        layered.use(FeatureGate(header: "X-Gate-3"))
        layered.get("/plaintext") { _ in .text("Hello, World!") }
        layered.get("/json") { ctx in ctx.json(Message(message: "Hello, World!")) }
    }
    router.group("/awaiting") { awaiting in
        awaiting.use(PassThrough())
        awaiting.get("/json") { ctx in ctx.json(Message(message: "Hello, World!")) }
    }
    router.group("/traced") { traced in
        traced.use(TracingMiddleware())
        traced.get("/json") { ctx in ctx.json(Message(message: "Hello, World!")) }
    }
    router.group("/metered") { metered in
        metered.use(RouteMetrics())
        metered.get("/json") { ctx in ctx.json(Message(message: "Hello, World!")) }
    }
}
