// A Chopin server whose requests are traced to an OpenTelemetry collector
// (OTLP over HTTP, http://localhost:4318 unless OTEL_EXPORTER_OTLP_ENDPOINT
// says otherwise), with the trace and span ids in every log line written
// inside a request.
import Chopin
import Logging
import OTel
import ServiceLifecycle

// Traces only: logs and metrics stay with their own backends.
var otel = OTel.Configuration.default
otel.serviceName = "my-api"
otel.logs.enabled = false
otel.metrics.enabled = false
otel.traces.exporter = .otlp
otel.traces.otlpExporter.protocol = .httpProtobuf
let observability = try OTel.bootstrap(configuration: otel)

// Log lines carry trace_id and span_id while a span is bound.
LoggingSystem.bootstrap(
    StreamLogHandler.standardError(label:metadataProvider:),
    metadataProvider: OTel.makeLoggingMetadataProvider())

let router = Router()
router.use(TracingMiddleware())  // first: its span covers everything after it
router.use(RequestLogger())
router.get("/user/:id") { (req: Request, id: Path<UInt64>) in
    .text("user \(id.value)")
}

let server = try Server.bind("0.0.0.0:8080")
let services = ServiceGroup(
    services: [observability, ChopinService(server, router: router)],
    gracefulShutdownSignals: [.sigterm, .sigint],
    logger: Logger(label: "chopin-otel"))
try await services.run()
