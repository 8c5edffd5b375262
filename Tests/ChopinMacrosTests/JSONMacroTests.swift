// Expansion tests for @JSON: the exact code the macro writes for each kind
// of declaration it accepts, and the errors for those it refuses. A change
// in the generated code shows up here first.
import SwiftSyntaxMacrosGenericTestSupport
import Testing

@Suite struct JSONMacroExpansionTests {
    /// A plain struct: the fast encoder and decoder, and Codable with the same keys.
    @Test func plainStructGetsEncoderDecoderAndCodable() {
        assertJSONExpansion(
            ##"""
            @JSON
            struct User {
                let id: UInt64
                let name: String
            }
            """##,
            expandedSource: ##"""
                struct User {
                    let id: UInt64
                    let name: String
                }

                extension User: JSONEncodable, JSONValueEncodable, JSONDecodable {
                    func encodeJSON(to o: inout JSONObjectWriter) throws(JSONError) {
                        try o.field(quotedKey: #""id":"#, self.id)
                        try o.field(quotedKey: #""name":"#, self.name)
                    }

                    init(json r: inout JSONReader) throws(JSONDecodingError) {
                        let start = r.offset
                        var _json_id: (UInt64)? = nil
                        var _json_name: (String)? = nil
                        var more = try r.beginObject()
                        while more {
                            let key = try r.readKey()
                            switch key.count {
                            case 2:
                                if key.matches(#"id"#) {
                                    if _json_id != nil {
                                        throw JSONDecodingError.duplicate(#"id"#, offset: r.offset)
                                    }
                                    _json_id = try r.read((UInt64).self, key: #"id"#)
                                } else {
                                    try r.skipValue()
                                }
                            case 4:
                                if key.matches(#"name"#) {
                                    if _json_name != nil {
                                        throw JSONDecodingError.duplicate(#"name"#, offset: r.offset)
                                    }
                                    _json_name = try r.read((String).self, key: #"name"#)
                                } else {
                                    try r.skipValue()
                                }
                            default:
                                try r.skipValue()
                            }
                            more = try r.nextMember()
                        }
                        guard let _json_id_value = _json_id else {
                            throw JSONDecodingError.missing(#"id"#, offset: start)
                        }
                        self.id = _json_id_value
                        guard let _json_name_value = _json_name else {
                            throw JSONDecodingError.missing(#"name"#, offset: start)
                        }
                        self.name = _json_name_value
                    }
                }

                extension User: Encodable, Decodable {
                    func encode(to encoder: any Encoder) throws {
                        var c = encoder.container(keyedBy: JSONCodingKey.self)
                        try c.encode(self.id, forKey: JSONCodingKey(#"id"#))
                        try c.encode(self.name, forKey: JSONCodingKey(#"name"#))
                    }

                    init(from decoder: any Decoder) throws {
                        let c = try decoder.container(keyedBy: JSONCodingKey.self)
                        self.id = try c.decode((UInt64).self, forKey: JSONCodingKey(#"id"#))
                        self.name = try c.decode((String).self, forKey: JSONCodingKey(#"name"#))
                    }
                }
                """##
        )
    }

    /// A public type's generated members are public.
    @Test func publicStructGetsPublicMembers() {
        assertJSONExpansion(
            ##"""
            @JSON
            public struct Point {
                public let x: Int
                public var y: Int
            }
            """##,
            expandedSource: ##"""
                public struct Point {
                    public let x: Int
                    public var y: Int
                }

                extension Point: JSONEncodable, JSONValueEncodable, JSONDecodable {
                    public func encodeJSON(to o: inout JSONObjectWriter) throws(JSONError) {
                        try o.field(quotedKey: #""x":"#, self.x)
                        try o.field(quotedKey: #""y":"#, self.y)
                    }

                    public init(json r: inout JSONReader) throws(JSONDecodingError) {
                        let start = r.offset
                        var _json_x: (Int)? = nil
                        var _json_y: (Int)? = nil
                        var more = try r.beginObject()
                        while more {
                            let key = try r.readKey()
                            switch key.count {
                            case 1:
                                if key.matches(#"x"#) {
                                    if _json_x != nil {
                                        throw JSONDecodingError.duplicate(#"x"#, offset: r.offset)
                                    }
                                    _json_x = try r.read((Int).self, key: #"x"#)
                                } else if key.matches(#"y"#) {
                                    if _json_y != nil {
                                        throw JSONDecodingError.duplicate(#"y"#, offset: r.offset)
                                    }
                                    _json_y = try r.read((Int).self, key: #"y"#)
                                } else {
                                    try r.skipValue()
                                }
                            default:
                                try r.skipValue()
                            }
                            more = try r.nextMember()
                        }
                        guard let _json_x_value = _json_x else {
                            throw JSONDecodingError.missing(#"x"#, offset: start)
                        }
                        self.x = _json_x_value
                        guard let _json_y_value = _json_y else {
                            throw JSONDecodingError.missing(#"y"#, offset: start)
                        }
                        self.y = _json_y_value
                    }
                }

                extension Point: Encodable, Decodable {
                    public func encode(to encoder: any Encoder) throws {
                        var c = encoder.container(keyedBy: JSONCodingKey.self)
                        try c.encode(self.x, forKey: JSONCodingKey(#"x"#))
                        try c.encode(self.y, forKey: JSONCodingKey(#"y"#))
                    }

                    public init(from decoder: any Decoder) throws {
                        let c = try decoder.container(keyedBy: JSONCodingKey.self)
                        self.x = try c.decode((Int).self, forKey: JSONCodingKey(#"x"#))
                        self.y = try c.decode((Int).self, forKey: JSONCodingKey(#"y"#))
                    }
                }
                """##
        )
    }

    /// `T?`, `Optional<T>` and `T!` may be absent or null; nil is not written.
    @Test func optionalsMayBeAbsentAndAreLeftOutWhenNil() {
        assertJSONExpansion(
            ##"""
            @JSON
            struct Profile {
                let id: Int
                var note: String?
                let tag: Optional<Int>
                let nick: String!
                var bio: String? = nil
            }
            """##,
            expandedSource: ##"""
                struct Profile {
                    let id: Int
                    var note: String?
                    let tag: Optional<Int>
                    let nick: String!
                    var bio: String? = nil
                }

                extension Profile: JSONEncodable, JSONValueEncodable, JSONDecodable {
                    func encodeJSON(to o: inout JSONObjectWriter) throws(JSONError) {
                        try o.field(quotedKey: #""id":"#, self.id)
                        if let v = self.note {
                            try o.field(quotedKey: #""note":"#, v)
                        }
                        if let v = self.tag {
                            try o.field(quotedKey: #""tag":"#, v)
                        }
                        if let v = self.nick {
                            try o.field(quotedKey: #""nick":"#, v)
                        }
                        if let v = self.bio {
                            try o.field(quotedKey: #""bio":"#, v)
                        }
                    }

                    init(json r: inout JSONReader) throws(JSONDecodingError) {
                        let start = r.offset
                        var _json_id: (Int)? = nil
                        var _json_note: String? = nil
                        var _json_note_seen = false
                        var _json_tag: Optional<Int> = nil
                        var _json_tag_seen = false
                        var _json_nick: String! = nil
                        var _json_nick_seen = false
                        var _json_bio: String? = nil
                        var _json_bio_seen = false
                        var more = try r.beginObject()
                        while more {
                            let key = try r.readKey()
                            switch key.count {
                            case 2:
                                if key.matches(#"id"#) {
                                    if _json_id != nil {
                                        throw JSONDecodingError.duplicate(#"id"#, offset: r.offset)
                                    }
                                    _json_id = try r.read((Int).self, key: #"id"#)
                                } else {
                                    try r.skipValue()
                                }
                            case 3:
                                if key.matches(#"tag"#) {
                                    if _json_tag_seen {
                                        throw JSONDecodingError.duplicate(#"tag"#, offset: r.offset)
                                    }
                                    _json_tag_seen = true
                                    _json_tag = try r.read((Optional<Int>).self, key: #"tag"#)
                                } else if key.matches(#"bio"#) {
                                    if _json_bio_seen {
                                        throw JSONDecodingError.duplicate(#"bio"#, offset: r.offset)
                                    }
                                    _json_bio_seen = true
                                    _json_bio = try r.read((String?).self, key: #"bio"#)
                                } else {
                                    try r.skipValue()
                                }
                            case 4:
                                if key.matches(#"note"#) {
                                    if _json_note_seen {
                                        throw JSONDecodingError.duplicate(#"note"#, offset: r.offset)
                                    }
                                    _json_note_seen = true
                                    _json_note = try r.read((String?).self, key: #"note"#)
                                } else if key.matches(#"nick"#) {
                                    if _json_nick_seen {
                                        throw JSONDecodingError.duplicate(#"nick"#, offset: r.offset)
                                    }
                                    _json_nick_seen = true
                                    _json_nick = try r.read((String!).self, key: #"nick"#)
                                } else {
                                    try r.skipValue()
                                }
                            default:
                                try r.skipValue()
                            }
                            more = try r.nextMember()
                        }
                        guard let _json_id_value = _json_id else {
                            throw JSONDecodingError.missing(#"id"#, offset: start)
                        }
                        self.id = _json_id_value
                        self.note = _json_note
                        self.tag = _json_tag
                        self.nick = _json_nick
                        self.bio = _json_bio
                    }
                }

                extension Profile: Encodable, Decodable {
                    func encode(to encoder: any Encoder) throws {
                        var c = encoder.container(keyedBy: JSONCodingKey.self)
                        try c.encode(self.id, forKey: JSONCodingKey(#"id"#))
                        try c.encodeIfPresent(self.note, forKey: JSONCodingKey(#"note"#))
                        try c.encodeIfPresent(self.tag, forKey: JSONCodingKey(#"tag"#))
                        try c.encodeIfPresent(self.nick, forKey: JSONCodingKey(#"nick"#))
                        try c.encodeIfPresent(self.bio, forKey: JSONCodingKey(#"bio"#))
                    }

                    init(from decoder: any Decoder) throws {
                        let c = try decoder.container(keyedBy: JSONCodingKey.self)
                        self.id = try c.decode((Int).self, forKey: JSONCodingKey(#"id"#))
                        self.note = try c.decodeIfPresent((String).self, forKey: JSONCodingKey(#"note"#))
                        self.tag = try c.decodeIfPresent((Int).self, forKey: JSONCodingKey(#"tag"#))
                        self.nick = try c.decodeIfPresent((String).self, forKey: JSONCodingKey(#"nick"#))
                        var _json_bio: String? = nil
                        if let v = try c.decodeIfPresent(type(of: _json_bio), forKey: JSONCodingKey(#"bio"#)) {
                            _json_bio = v
                        }
                        self.bio = _json_bio
                    }
                }
                """##
        )
    }

    /// A default value stands when the member is absent (the type is taken from it when unwritten); a `let` with a value is written, never read.
    @Test func defaultsAreUsedWhenAbsentAndLetConstantsAreOnlyWritten() {
        assertJSONExpansion(
            ##"""
            @JSON
            struct Settings {
                var currency = "EUR"
                var limit: Int = 10
                var tags: [String] = []
                let version: Int = 2
                let kind = "settings"
            }
            """##,
            expandedSource: ##"""
                struct Settings {
                    var currency = "EUR"
                    var limit: Int = 10
                    var tags: [String] = []
                    let version: Int = 2
                    let kind = "settings"
                }

                extension Settings: JSONEncodable, JSONValueEncodable, JSONDecodable {
                    func encodeJSON(to o: inout JSONObjectWriter) throws(JSONError) {
                        try o.field(quotedKey: #""currency":"#, self.currency)
                        try o.field(quotedKey: #""limit":"#, self.limit)
                        try o.field(quotedKey: #""tags":"#, self.tags)
                        try o.field(quotedKey: #""version":"#, self.version)
                        try o.field(quotedKey: #""kind":"#, self.kind)
                    }

                    init(json r: inout JSONReader) throws(JSONDecodingError) {
                        var _json_currency = "EUR"
                        var _json_currency_seen = false
                        var _json_limit: Int = 10
                        var _json_limit_seen = false
                        var _json_tags: [String] = []
                        var _json_tags_seen = false
                        var more = try r.beginObject()
                        while more {
                            let key = try r.readKey()
                            switch key.count {
                            case 4:
                                if key.matches(#"tags"#) {
                                    if _json_tags_seen {
                                        throw JSONDecodingError.duplicate(#"tags"#, offset: r.offset)
                                    }
                                    _json_tags_seen = true
                                    _json_tags = try r.read(([String]).self, key: #"tags"#)
                                } else {
                                    try r.skipValue()
                                }
                            case 5:
                                if key.matches(#"limit"#) {
                                    if _json_limit_seen {
                                        throw JSONDecodingError.duplicate(#"limit"#, offset: r.offset)
                                    }
                                    _json_limit_seen = true
                                    _json_limit = try r.read((Int).self, key: #"limit"#)
                                } else {
                                    try r.skipValue()
                                }
                            case 8:
                                if key.matches(#"currency"#) {
                                    if _json_currency_seen {
                                        throw JSONDecodingError.duplicate(#"currency"#, offset: r.offset)
                                    }
                                    _json_currency_seen = true
                                    try r.read(into: &_json_currency, key: #"currency"#)
                                } else {
                                    try r.skipValue()
                                }
                            default:
                                try r.skipValue()
                            }
                            more = try r.nextMember()
                        }
                        self.currency = _json_currency
                        self.limit = _json_limit
                        self.tags = _json_tags
                    }
                }

                extension Settings: Encodable, Decodable {
                    func encode(to encoder: any Encoder) throws {
                        var c = encoder.container(keyedBy: JSONCodingKey.self)
                        try c.encode(self.currency, forKey: JSONCodingKey(#"currency"#))
                        try c.encode(self.limit, forKey: JSONCodingKey(#"limit"#))
                        try c.encode(self.tags, forKey: JSONCodingKey(#"tags"#))
                        try c.encode(self.version, forKey: JSONCodingKey(#"version"#))
                        try c.encode(self.kind, forKey: JSONCodingKey(#"kind"#))
                    }

                    init(from decoder: any Decoder) throws {
                        let c = try decoder.container(keyedBy: JSONCodingKey.self)
                        var _json_currency = "EUR"
                        if let v = try c.decodeIfPresent(type(of: _json_currency), forKey: JSONCodingKey(#"currency"#)) {
                            _json_currency = v
                        }
                        self.currency = _json_currency
                        var _json_limit: Int = 10
                        if let v = try c.decodeIfPresent(type(of: _json_limit), forKey: JSONCodingKey(#"limit"#)) {
                            _json_limit = v
                        }
                        self.limit = _json_limit
                        var _json_tags: [String] = []
                        if let v = try c.decodeIfPresent(type(of: _json_tags), forKey: JSONCodingKey(#"tags"#)) {
                            _json_tags = v
                        }
                        self.tags = _json_tags
                    }
                }
                """##
        )
    }

    /// `@JSONKey` renames; quotes, backslashes and line breaks in a key are escaped in JSON and in Swift.
    @Test func jsonKeyRenamesAndKeysAreEscaped() {
        assertJSONExpansion(
            ##"""
            @JSON
            struct Account {
                @JSONKey("user_name") let userName: String
                @JSONKey("a\"b\\c") let odd: Int
                @JSONKey("line\nbreak") let broken: Int
                let plain: Bool
            }
            """##,
            expandedSource: ##"""
                struct Account {
                    let userName: String
                    let odd: Int
                    let broken: Int
                    let plain: Bool
                }

                extension Account: JSONEncodable, JSONValueEncodable, JSONDecodable {
                    func encodeJSON(to o: inout JSONObjectWriter) throws(JSONError) {
                        try o.field(quotedKey: #""user_name":"#, self.userName)
                        try o.field(quotedKey: #""a\"b\\c":"#, self.odd)
                        try o.field(quotedKey: #""line\nbreak":"#, self.broken)
                        try o.field(quotedKey: #""plain":"#, self.plain)
                    }

                    init(json r: inout JSONReader) throws(JSONDecodingError) {
                        let start = r.offset
                        var _json_userName: (String)? = nil
                        var _json_odd: (Int)? = nil
                        var _json_broken: (Int)? = nil
                        var _json_plain: (Bool)? = nil
                        var more = try r.beginObject()
                        while more {
                            let key = try r.readKey()
                            switch key.count {
                            case 5:
                                if key.matches(#"a"b\c"#) {
                                    if _json_odd != nil {
                                        throw JSONDecodingError.duplicate(#"a"b\c"#, offset: r.offset)
                                    }
                                    _json_odd = try r.read((Int).self, key: #"a"b\c"#)
                                } else if key.matches(#"plain"#) {
                                    if _json_plain != nil {
                                        throw JSONDecodingError.duplicate(#"plain"#, offset: r.offset)
                                    }
                                    _json_plain = try r.read((Bool).self, key: #"plain"#)
                                } else {
                                    try r.skipValue()
                                }
                            case 9:
                                if key.matches(#"user_name"#) {
                                    if _json_userName != nil {
                                        throw JSONDecodingError.duplicate(#"user_name"#, offset: r.offset)
                                    }
                                    _json_userName = try r.read((String).self, key: #"user_name"#)
                                } else {
                                    try r.skipValue()
                                }
                            case 10:
                                if key.matches(#"line\#u{a}break"#) {
                                    if _json_broken != nil {
                                        throw JSONDecodingError.duplicate(#"line\#u{a}break"#, offset: r.offset)
                                    }
                                    _json_broken = try r.read((Int).self, key: #"line\#u{a}break"#)
                                } else {
                                    try r.skipValue()
                                }
                            default:
                                try r.skipValue()
                            }
                            more = try r.nextMember()
                        }
                        guard let _json_userName_value = _json_userName else {
                            throw JSONDecodingError.missing(#"user_name"#, offset: start)
                        }
                        self.userName = _json_userName_value
                        guard let _json_odd_value = _json_odd else {
                            throw JSONDecodingError.missing(#"a"b\c"#, offset: start)
                        }
                        self.odd = _json_odd_value
                        guard let _json_broken_value = _json_broken else {
                            throw JSONDecodingError.missing(#"line\#u{a}break"#, offset: start)
                        }
                        self.broken = _json_broken_value
                        guard let _json_plain_value = _json_plain else {
                            throw JSONDecodingError.missing(#"plain"#, offset: start)
                        }
                        self.plain = _json_plain_value
                    }
                }

                extension Account: Encodable, Decodable {
                    func encode(to encoder: any Encoder) throws {
                        var c = encoder.container(keyedBy: JSONCodingKey.self)
                        try c.encode(self.userName, forKey: JSONCodingKey(#"user_name"#))
                        try c.encode(self.odd, forKey: JSONCodingKey(#"a"b\c"#))
                        try c.encode(self.broken, forKey: JSONCodingKey(#"line\#u{a}break"#))
                        try c.encode(self.plain, forKey: JSONCodingKey(#"plain"#))
                    }

                    init(from decoder: any Decoder) throws {
                        let c = try decoder.container(keyedBy: JSONCodingKey.self)
                        self.userName = try c.decode((String).self, forKey: JSONCodingKey(#"user_name"#))
                        self.odd = try c.decode((Int).self, forKey: JSONCodingKey(#"a"b\c"#))
                        self.broken = try c.decode((Int).self, forKey: JSONCodingKey(#"line\#u{a}break"#))
                        self.plain = try c.decode((Bool).self, forKey: JSONCodingKey(#"plain"#))
                    }
                }
                """##
        )
    }

    /// `keys: .snakeCase`: `userID` is `user_id`, `urlPath` is `url_path`; `@JSONKey` wins over it.
    @Test func snakeCaseKeysAndAnExplicitKeyWins() {
        assertJSONExpansion(
            ##"""
            @JSON(keys: .snakeCase)
            struct Order {
                let userID: UInt64
                let urlPath: String
                let createdAt: String
                let x: Int
                @JSONKey("lines") let lineItems: [Int]
            }
            """##,
            expandedSource: ##"""
                struct Order {
                    let userID: UInt64
                    let urlPath: String
                    let createdAt: String
                    let x: Int
                    let lineItems: [Int]
                }

                extension Order: JSONEncodable, JSONValueEncodable, JSONDecodable {
                    func encodeJSON(to o: inout JSONObjectWriter) throws(JSONError) {
                        try o.field(quotedKey: #""user_id":"#, self.userID)
                        try o.field(quotedKey: #""url_path":"#, self.urlPath)
                        try o.field(quotedKey: #""created_at":"#, self.createdAt)
                        try o.field(quotedKey: #""x":"#, self.x)
                        try o.field(quotedKey: #""lines":"#, self.lineItems)
                    }

                    init(json r: inout JSONReader) throws(JSONDecodingError) {
                        let start = r.offset
                        var _json_userID: (UInt64)? = nil
                        var _json_urlPath: (String)? = nil
                        var _json_createdAt: (String)? = nil
                        var _json_x: (Int)? = nil
                        var _json_lineItems: ([Int])? = nil
                        var more = try r.beginObject()
                        while more {
                            let key = try r.readKey()
                            switch key.count {
                            case 1:
                                if key.matches(#"x"#) {
                                    if _json_x != nil {
                                        throw JSONDecodingError.duplicate(#"x"#, offset: r.offset)
                                    }
                                    _json_x = try r.read((Int).self, key: #"x"#)
                                } else {
                                    try r.skipValue()
                                }
                            case 5:
                                if key.matches(#"lines"#) {
                                    if _json_lineItems != nil {
                                        throw JSONDecodingError.duplicate(#"lines"#, offset: r.offset)
                                    }
                                    _json_lineItems = try r.read(([Int]).self, key: #"lines"#)
                                } else {
                                    try r.skipValue()
                                }
                            case 7:
                                if key.matches(#"user_id"#) {
                                    if _json_userID != nil {
                                        throw JSONDecodingError.duplicate(#"user_id"#, offset: r.offset)
                                    }
                                    _json_userID = try r.read((UInt64).self, key: #"user_id"#)
                                } else {
                                    try r.skipValue()
                                }
                            case 8:
                                if key.matches(#"url_path"#) {
                                    if _json_urlPath != nil {
                                        throw JSONDecodingError.duplicate(#"url_path"#, offset: r.offset)
                                    }
                                    _json_urlPath = try r.read((String).self, key: #"url_path"#)
                                } else {
                                    try r.skipValue()
                                }
                            case 10:
                                if key.matches(#"created_at"#) {
                                    if _json_createdAt != nil {
                                        throw JSONDecodingError.duplicate(#"created_at"#, offset: r.offset)
                                    }
                                    _json_createdAt = try r.read((String).self, key: #"created_at"#)
                                } else {
                                    try r.skipValue()
                                }
                            default:
                                try r.skipValue()
                            }
                            more = try r.nextMember()
                        }
                        guard let _json_userID_value = _json_userID else {
                            throw JSONDecodingError.missing(#"user_id"#, offset: start)
                        }
                        self.userID = _json_userID_value
                        guard let _json_urlPath_value = _json_urlPath else {
                            throw JSONDecodingError.missing(#"url_path"#, offset: start)
                        }
                        self.urlPath = _json_urlPath_value
                        guard let _json_createdAt_value = _json_createdAt else {
                            throw JSONDecodingError.missing(#"created_at"#, offset: start)
                        }
                        self.createdAt = _json_createdAt_value
                        guard let _json_x_value = _json_x else {
                            throw JSONDecodingError.missing(#"x"#, offset: start)
                        }
                        self.x = _json_x_value
                        guard let _json_lineItems_value = _json_lineItems else {
                            throw JSONDecodingError.missing(#"lines"#, offset: start)
                        }
                        self.lineItems = _json_lineItems_value
                    }
                }

                extension Order: Encodable, Decodable {
                    func encode(to encoder: any Encoder) throws {
                        var c = encoder.container(keyedBy: JSONCodingKey.self)
                        try c.encode(self.userID, forKey: JSONCodingKey(#"user_id"#))
                        try c.encode(self.urlPath, forKey: JSONCodingKey(#"url_path"#))
                        try c.encode(self.createdAt, forKey: JSONCodingKey(#"created_at"#))
                        try c.encode(self.x, forKey: JSONCodingKey(#"x"#))
                        try c.encode(self.lineItems, forKey: JSONCodingKey(#"lines"#))
                    }

                    init(from decoder: any Decoder) throws {
                        let c = try decoder.container(keyedBy: JSONCodingKey.self)
                        self.userID = try c.decode((UInt64).self, forKey: JSONCodingKey(#"user_id"#))
                        self.urlPath = try c.decode((String).self, forKey: JSONCodingKey(#"url_path"#))
                        self.createdAt = try c.decode((String).self, forKey: JSONCodingKey(#"created_at"#))
                        self.x = try c.decode((Int).self, forKey: JSONCodingKey(#"x"#))
                        self.lineItems = try c.decode(([Int]).self, forKey: JSONCodingKey(#"lines"#))
                    }
                }
                """##
        )
    }

    /// `unknownFields: .reject`: an unknown member throws where it would be skipped.
    @Test func rejectUnknownFieldsThrowsOnAnUnknownMember() {
        assertJSONExpansion(
            ##"""
            @JSON(unknownFields: .reject)
            struct StrictPoint {
                let x: Int
                var label: String? = nil
            }
            """##,
            expandedSource: ##"""
                struct StrictPoint {
                    let x: Int
                    var label: String? = nil
                }

                extension StrictPoint: JSONEncodable, JSONValueEncodable, JSONDecodable {
                    func encodeJSON(to o: inout JSONObjectWriter) throws(JSONError) {
                        try o.field(quotedKey: #""x":"#, self.x)
                        if let v = self.label {
                            try o.field(quotedKey: #""label":"#, v)
                        }
                    }

                    init(json r: inout JSONReader) throws(JSONDecodingError) {
                        let start = r.offset
                        var _json_x: (Int)? = nil
                        var _json_label: String? = nil
                        var _json_label_seen = false
                        var more = try r.beginObject()
                        while more {
                            let key = try r.readKey()
                            switch key.count {
                            case 1:
                                if key.matches(#"x"#) {
                                    if _json_x != nil {
                                        throw JSONDecodingError.duplicate(#"x"#, offset: r.offset)
                                    }
                                    _json_x = try r.read((Int).self, key: #"x"#)
                                } else {
                                    throw JSONDecodingError(.unknownField, "unknown field", offset: r.offset).at(key: key.string)
                                }
                            case 5:
                                if key.matches(#"label"#) {
                                    if _json_label_seen {
                                        throw JSONDecodingError.duplicate(#"label"#, offset: r.offset)
                                    }
                                    _json_label_seen = true
                                    _json_label = try r.read((String?).self, key: #"label"#)
                                } else {
                                    throw JSONDecodingError(.unknownField, "unknown field", offset: r.offset).at(key: key.string)
                                }
                            default:
                                throw JSONDecodingError(.unknownField, "unknown field", offset: r.offset).at(key: key.string)
                            }
                            more = try r.nextMember()
                        }
                        guard let _json_x_value = _json_x else {
                            throw JSONDecodingError.missing(#"x"#, offset: start)
                        }
                        self.x = _json_x_value
                        self.label = _json_label
                    }
                }

                extension StrictPoint: Encodable, Decodable {
                    func encode(to encoder: any Encoder) throws {
                        var c = encoder.container(keyedBy: JSONCodingKey.self)
                        try c.encode(self.x, forKey: JSONCodingKey(#"x"#))
                        try c.encodeIfPresent(self.label, forKey: JSONCodingKey(#"label"#))
                    }

                    init(from decoder: any Decoder) throws {
                        let c = try decoder.container(keyedBy: JSONCodingKey.self)
                        self.x = try c.decode((Int).self, forKey: JSONCodingKey(#"x"#))
                        var _json_label: String? = nil
                        if let v = try c.decodeIfPresent(type(of: _json_label), forKey: JSONCodingKey(#"label"#)) {
                            _json_label = v
                        }
                        self.label = _json_label
                    }
                }
                """##
        )
    }

    /// An enum with a raw value: the conformances, whose code comes from the library's RawRepresentable defaults.
    @Test func enumsWithARawValueGetTheConformancesOnly() {
        assertJSONExpansion(
            ##"""
            @JSON
            enum Status: String {
                case open, paid
            }

            @JSON
            public enum Level: Int {
                case low = 1, high = 2
            }
            """##,
            expandedSource: ##"""
                enum Status: String {
                    case open, paid
                }
                public enum Level: Int {
                    case low = 1, high = 2
                }

                extension Status: JSONValueEncodable, JSONDecodable, Encodable, Decodable {
                }

                extension Level: JSONValueEncodable, JSONDecodable, Encodable, Decodable {
                }
                """##
        )
    }

    /// A type nested in another gets its extension by its qualified name; arrays, dictionaries and optionals of other types are read through their own decoders.
    @Test func nestedTypesAndFieldsOfOtherJSONTypes() {
        assertJSONExpansion(
            ##"""
            struct Outer {
                @JSON
                struct Inner {
                    let values: [Int]
                }
            }

            @JSON
            struct Cart {
                let items: [Outer.Inner]
                let byName: [String: Outer.Inner]
                let status: Status?
            }
            """##,
            expandedSource: ##"""
                struct Outer {
                    struct Inner {
                        let values: [Int]
                    }
                }
                struct Cart {
                    let items: [Outer.Inner]
                    let byName: [String: Outer.Inner]
                    let status: Status?
                }

                extension Outer.Inner: JSONEncodable, JSONValueEncodable, JSONDecodable {
                    func encodeJSON(to o: inout JSONObjectWriter) throws(JSONError) {
                        try o.field(quotedKey: #""values":"#, self.values)
                    }

                    init(json r: inout JSONReader) throws(JSONDecodingError) {
                        let start = r.offset
                        var _json_values: ([Int])? = nil
                        var more = try r.beginObject()
                        while more {
                            let key = try r.readKey()
                            switch key.count {
                            case 6:
                                if key.matches(#"values"#) {
                                    if _json_values != nil {
                                        throw JSONDecodingError.duplicate(#"values"#, offset: r.offset)
                                    }
                                    _json_values = try r.read(([Int]).self, key: #"values"#)
                                } else {
                                    try r.skipValue()
                                }
                            default:
                                try r.skipValue()
                            }
                            more = try r.nextMember()
                        }
                        guard let _json_values_value = _json_values else {
                            throw JSONDecodingError.missing(#"values"#, offset: start)
                        }
                        self.values = _json_values_value
                    }
                }

                extension Outer.Inner: Encodable, Decodable {
                    func encode(to encoder: any Encoder) throws {
                        var c = encoder.container(keyedBy: JSONCodingKey.self)
                        try c.encode(self.values, forKey: JSONCodingKey(#"values"#))
                    }

                    init(from decoder: any Decoder) throws {
                        let c = try decoder.container(keyedBy: JSONCodingKey.self)
                        self.values = try c.decode(([Int]).self, forKey: JSONCodingKey(#"values"#))
                    }
                }

                extension Cart: JSONEncodable, JSONValueEncodable, JSONDecodable {
                    func encodeJSON(to o: inout JSONObjectWriter) throws(JSONError) {
                        try o.field(quotedKey: #""items":"#, self.items)
                        try o.field(quotedKey: #""byName":"#, self.byName)
                        if let v = self.status {
                            try o.field(quotedKey: #""status":"#, v)
                        }
                    }

                    init(json r: inout JSONReader) throws(JSONDecodingError) {
                        let start = r.offset
                        var _json_items: ([Outer.Inner])? = nil
                        var _json_byName: ([String: Outer.Inner])? = nil
                        var _json_status: Status? = nil
                        var _json_status_seen = false
                        var more = try r.beginObject()
                        while more {
                            let key = try r.readKey()
                            switch key.count {
                            case 5:
                                if key.matches(#"items"#) {
                                    if _json_items != nil {
                                        throw JSONDecodingError.duplicate(#"items"#, offset: r.offset)
                                    }
                                    _json_items = try r.read(([Outer.Inner]).self, key: #"items"#)
                                } else {
                                    try r.skipValue()
                                }
                            case 6:
                                if key.matches(#"byName"#) {
                                    if _json_byName != nil {
                                        throw JSONDecodingError.duplicate(#"byName"#, offset: r.offset)
                                    }
                                    _json_byName = try r.read(([String: Outer.Inner]).self, key: #"byName"#)
                                } else if key.matches(#"status"#) {
                                    if _json_status_seen {
                                        throw JSONDecodingError.duplicate(#"status"#, offset: r.offset)
                                    }
                                    _json_status_seen = true
                                    _json_status = try r.read((Status?).self, key: #"status"#)
                                } else {
                                    try r.skipValue()
                                }
                            default:
                                try r.skipValue()
                            }
                            more = try r.nextMember()
                        }
                        guard let _json_items_value = _json_items else {
                            throw JSONDecodingError.missing(#"items"#, offset: start)
                        }
                        self.items = _json_items_value
                        guard let _json_byName_value = _json_byName else {
                            throw JSONDecodingError.missing(#"byName"#, offset: start)
                        }
                        self.byName = _json_byName_value
                        self.status = _json_status
                    }
                }

                extension Cart: Encodable, Decodable {
                    func encode(to encoder: any Encoder) throws {
                        var c = encoder.container(keyedBy: JSONCodingKey.self)
                        try c.encode(self.items, forKey: JSONCodingKey(#"items"#))
                        try c.encode(self.byName, forKey: JSONCodingKey(#"byName"#))
                        try c.encodeIfPresent(self.status, forKey: JSONCodingKey(#"status"#))
                    }

                    init(from decoder: any Decoder) throws {
                        let c = try decoder.container(keyedBy: JSONCodingKey.self)
                        self.items = try c.decode(([Outer.Inner]).self, forKey: JSONCodingKey(#"items"#))
                        self.byName = try c.decode(([String: Outer.Inner]).self, forKey: JSONCodingKey(#"byName"#))
                        self.status = try c.decodeIfPresent((Status).self, forKey: JSONCodingKey(#"status"#))
                    }
                }
                """##
        )
    }

    /// Static and computed properties and methods are not fields; `let a, b: Int` is two fields; a stored property with observers is one.
    @Test func staticComputedAndMethodMembersAreSkipped() {
        assertJSONExpansion(
            ##"""
            @JSON
            struct Counter {
                static let shared = 0
                let a, b: Int
                var doubled: Int { a * 2 }
                var observed: Int = 0 {
                    didSet { print(observed) }
                }
                func reset() {}
            }
            """##,
            expandedSource: ##"""
                struct Counter {
                    static let shared = 0
                    let a, b: Int
                    var doubled: Int { a * 2 }
                    var observed: Int = 0 {
                        didSet { print(observed) }
                    }
                    func reset() {}
                }

                extension Counter: JSONEncodable, JSONValueEncodable, JSONDecodable {
                    func encodeJSON(to o: inout JSONObjectWriter) throws(JSONError) {
                        try o.field(quotedKey: #""a":"#, self.a)
                        try o.field(quotedKey: #""b":"#, self.b)
                        try o.field(quotedKey: #""observed":"#, self.observed)
                    }

                    init(json r: inout JSONReader) throws(JSONDecodingError) {
                        let start = r.offset
                        var _json_a: (Int)? = nil
                        var _json_b: (Int)? = nil
                        var _json_observed: Int = 0
                        var _json_observed_seen = false
                        var more = try r.beginObject()
                        while more {
                            let key = try r.readKey()
                            switch key.count {
                            case 1:
                                if key.matches(#"a"#) {
                                    if _json_a != nil {
                                        throw JSONDecodingError.duplicate(#"a"#, offset: r.offset)
                                    }
                                    _json_a = try r.read((Int).self, key: #"a"#)
                                } else if key.matches(#"b"#) {
                                    if _json_b != nil {
                                        throw JSONDecodingError.duplicate(#"b"#, offset: r.offset)
                                    }
                                    _json_b = try r.read((Int).self, key: #"b"#)
                                } else {
                                    try r.skipValue()
                                }
                            case 8:
                                if key.matches(#"observed"#) {
                                    if _json_observed_seen {
                                        throw JSONDecodingError.duplicate(#"observed"#, offset: r.offset)
                                    }
                                    _json_observed_seen = true
                                    _json_observed = try r.read((Int).self, key: #"observed"#)
                                } else {
                                    try r.skipValue()
                                }
                            default:
                                try r.skipValue()
                            }
                            more = try r.nextMember()
                        }
                        guard let _json_a_value = _json_a else {
                            throw JSONDecodingError.missing(#"a"#, offset: start)
                        }
                        self.a = _json_a_value
                        guard let _json_b_value = _json_b else {
                            throw JSONDecodingError.missing(#"b"#, offset: start)
                        }
                        self.b = _json_b_value
                        self.observed = _json_observed
                    }
                }

                extension Counter: Encodable, Decodable {
                    func encode(to encoder: any Encoder) throws {
                        var c = encoder.container(keyedBy: JSONCodingKey.self)
                        try c.encode(self.a, forKey: JSONCodingKey(#"a"#))
                        try c.encode(self.b, forKey: JSONCodingKey(#"b"#))
                        try c.encode(self.observed, forKey: JSONCodingKey(#"observed"#))
                    }

                    init(from decoder: any Decoder) throws {
                        let c = try decoder.container(keyedBy: JSONCodingKey.self)
                        self.a = try c.decode((Int).self, forKey: JSONCodingKey(#"a"#))
                        self.b = try c.decode((Int).self, forKey: JSONCodingKey(#"b"#))
                        var _json_observed: Int = 0
                        if let v = try c.decodeIfPresent(type(of: _json_observed), forKey: JSONCodingKey(#"observed"#)) {
                            _json_observed = v
                        }
                        self.observed = _json_observed
                    }
                }
                """##
        )
    }

    @Test func refusesAClass() {
        assertJSONExpansion(
            ##"""
            @JSON
            class Box {
                let v: Int = 0
            }
            """##,
            expandedSource: ##"""
                class Box {
                    let v: Int = 0
                }
                """##,
            diagnostics: [
                DiagnosticSpec(message: #"@JSON applies to structs and to enums with a raw value"#, line: 1, column: 1)
            ]
        )
    }

    @Test func refusesAnActor() {
        assertJSONExpansion(
            ##"""
            @JSON
            actor Counter {
                var n: Int = 0
            }
            """##,
            expandedSource: ##"""
                actor Counter {
                    var n: Int = 0
                }
                """##,
            diagnostics: [
                DiagnosticSpec(message: #"@JSON applies to structs and to enums with a raw value"#, line: 1, column: 1)
            ]
        )
    }

    @Test func refusesAnEnumWithoutARawValue() {
        assertJSONExpansion(
            ##"""
            @JSON
            enum Direction {
                case up, down
            }
            """##,
            expandedSource: ##"""
                enum Direction {
                    case up, down
                }
                """##,
            diagnostics: [
                DiagnosticSpec(
                    message: #"@JSON applies to enums with a raw value (enum E: String)"#, line: 1, column: 1)
            ]
        )
    }

    /// Conformances but no raw type: the macro says so, rather than leaving
    /// the compiler to complain about RawRepresentable.
    @Test func refusesAnEnumWithConformancesButNoRawValue() {
        assertJSONExpansion(
            ##"""
            @JSON
            enum Direction: Sendable, Hashable {
                case up, down
            }
            """##,
            expandedSource: ##"""
                enum Direction: Sendable, Hashable {
                    case up, down
                }
                """##,
            diagnostics: [
                DiagnosticSpec(
                    message: #"@JSON applies to enums with a raw value (enum E: String)"#, line: 1, column: 1)
            ]
        )
    }

    @Test func refusesAStoredPropertyWithoutATypeOrValue() {
        assertJSONExpansion(
            ##"""
            @JSON
            struct Loose {
                var x
            }
            """##,
            expandedSource: ##"""
                struct Loose {
                    var x
                }
                """##,
            diagnostics: [DiagnosticSpec(message: #"@JSON needs a type annotation on 'x'"#, line: 1, column: 1)]
        )
    }
}
