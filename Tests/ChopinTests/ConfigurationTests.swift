import Testing

@testable import Chopin

@Suite struct ConfigurationTests {
    @Test func defaultsAreValid() throws {
        let config = Configuration()
        #expect(config.port == 8080)
        #expect(config.maxHeaders == 100)
        #expect(config.maxBody == 1 << 20)
        try config.validate()
    }

    @Test func lingeringCloseSettingsReachTheCore() {
        var config = Configuration()
        #expect(config.lingerTimeoutMilliseconds == 5000)
        #expect(config.maxLingerBytes == 4 << 20)
        config.lingerTimeoutMilliseconds = 0  // close at once
        config.maxLingerBytes = 1234
        let c = "127.0.0.1".withCString { config.cConfig(host: $0) }
        #expect(c.linger_timeout_ms == 0)
        #expect(c.max_linger_bytes == 1234)
    }

    @Test func badHostIsNamed() {
        let config = Configuration(host: "localhost-ish", port: 80)
        #expect(throws: ConfigurationError.self) { try config.validate() }
        do {
            try config.validate()
        } catch {
            #expect(error.description.contains("localhost-ish"))
        }
    }

    @Test func limitsAreChecked() {
        var config = Configuration()
        config.maxHeaders = 0
        do {
            try config.validate()
            Issue.record("max_headers 0 was accepted")
        } catch {
            #expect(error.description.contains("max_headers"))
        }
        config = Configuration()
        config.uringBuffers = 100  // not a power of two
        #expect(throws: ConfigurationError.self) { try config.validate() }
        config = Configuration()
        config.idleTimeoutMilliseconds = 0
        #expect(throws: ConfigurationError.self) { try config.validate() }
    }
}
