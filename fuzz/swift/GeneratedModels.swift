// swift-format-ignore-file
// GENERATED: @JSON's expansion of GeneratedModels.input (the macro in
// Sources/ChopinMacros, run by Tests/ChopinMacrosTests). Do not edit; write
// it again with
//     CHOPIN_WRITE_EXPANSION=1 swift test --filter GeneratedModelsTests
// GeneratedModelsTests fails while this file differs from what @JSON writes.


struct FuzzOrder: Equatable {
    let orderID: UInt64
    let customerName: String
    var note: String? = nil
    var currency = "EUR"
    let lines: [FuzzOrder.Line]
    let status: FuzzStatus
    let attributes: [String: Int32]
    let totals: [String: Double]?
    let flags: [Bool]?
    let shipTo: FuzzAddress?
    let version: Int = 1
    struct Line: Equatable {
        let sku: String
        let quantity: Int
        let unitPrice: Double
        var tags: [String] = []
        let gift: Optional<Bool>
    }
}
enum FuzzStatus: String, Equatable {
    case open, paid
    case refunded = "re\"funded"
}
struct FuzzAddress: Equatable {
    let street: String
    let city: String?
    let zip: Int16
    let level: FuzzLevel
}
enum FuzzLevel: Int, Equatable {
    case ground = 0, first = 1, top = 99
}

extension FuzzOrder.Line: JSONEncodable, JSONValueEncodable, JSONDecodable {
    func encodeJSON(to o: inout JSONObjectWriter) throws(JSONError) {
        try o.field(quotedKey: #""sku":"#, self.sku)
        try o.field(quotedKey: #""quantity":"#, self.quantity)
        try o.field(quotedKey: #""unitPrice":"#, self.unitPrice)
        try o.field(quotedKey: #""tags":"#, self.tags)
        if let v = self.gift {
            try o.field(quotedKey: #""gift":"#, v)
        }
    }

    init(json r: inout JSONReader) throws(JSONDecodingError) {
        let start = r.offset
        var _json_sku: (String)? = nil
        var _json_quantity: (Int)? = nil
        var _json_unitPrice: (Double)? = nil
        var _json_tags: [String] = []
        var _json_tags_seen = false
        var _json_gift: Optional<Bool> = nil
        var _json_gift_seen = false
        var more = try r.beginObject()
        while more {
            let key = try r.readKey()
            switch key.count {
            case 3:
                if key.matches(#"sku"#) {
                    if _json_sku != nil {
                        throw JSONDecodingError.duplicate(#"sku"#, offset: r.offset)
                    }
                    _json_sku = try r.read((String).self, key: #"sku"#)
                } else {
                    try r.skipValue()
                }
            case 4:
                if key.matches(#"tags"#) {
                    if _json_tags_seen {
                        throw JSONDecodingError.duplicate(#"tags"#, offset: r.offset)
                    }
                    _json_tags_seen = true
                    _json_tags = try r.read(([String]).self, key: #"tags"#)
                } else if key.matches(#"gift"#) {
                    if _json_gift_seen {
                        throw JSONDecodingError.duplicate(#"gift"#, offset: r.offset)
                    }
                    _json_gift_seen = true
                    _json_gift = try r.read((Optional<Bool>).self, key: #"gift"#)
                } else {
                    try r.skipValue()
                }
            case 8:
                if key.matches(#"quantity"#) {
                    if _json_quantity != nil {
                        throw JSONDecodingError.duplicate(#"quantity"#, offset: r.offset)
                    }
                    _json_quantity = try r.read((Int).self, key: #"quantity"#)
                } else {
                    try r.skipValue()
                }
            case 9:
                if key.matches(#"unitPrice"#) {
                    if _json_unitPrice != nil {
                        throw JSONDecodingError.duplicate(#"unitPrice"#, offset: r.offset)
                    }
                    _json_unitPrice = try r.read((Double).self, key: #"unitPrice"#)
                } else {
                    try r.skipValue()
                }
            default:
                try r.skipValue()
            }
            more = try r.nextMember()
        }
        guard let _json_sku_value = _json_sku else {
            throw JSONDecodingError.missing(#"sku"#, offset: start)
        }
        self.sku = _json_sku_value
        guard let _json_quantity_value = _json_quantity else {
            throw JSONDecodingError.missing(#"quantity"#, offset: start)
        }
        self.quantity = _json_quantity_value
        guard let _json_unitPrice_value = _json_unitPrice else {
            throw JSONDecodingError.missing(#"unitPrice"#, offset: start)
        }
        self.unitPrice = _json_unitPrice_value
        self.tags = _json_tags
        self.gift = _json_gift
    }
}

extension FuzzOrder.Line: Encodable, Decodable {
    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: JSONCodingKey.self)
        try c.encode(self.sku, forKey: JSONCodingKey(#"sku"#))
        try c.encode(self.quantity, forKey: JSONCodingKey(#"quantity"#))
        try c.encode(self.unitPrice, forKey: JSONCodingKey(#"unitPrice"#))
        try c.encode(self.tags, forKey: JSONCodingKey(#"tags"#))
        try c.encodeIfPresent(self.gift, forKey: JSONCodingKey(#"gift"#))
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: JSONCodingKey.self)
        self.sku = try c.decode((String).self, forKey: JSONCodingKey(#"sku"#))
        self.quantity = try c.decode((Int).self, forKey: JSONCodingKey(#"quantity"#))
        self.unitPrice = try c.decode((Double).self, forKey: JSONCodingKey(#"unitPrice"#))
        var _json_tags: [String] = []
        if let v = try c.decodeIfPresent(type(of: _json_tags), forKey: JSONCodingKey(#"tags"#)) {
            _json_tags = v
        }
        self.tags = _json_tags
        self.gift = try c.decodeIfPresent((Bool).self, forKey: JSONCodingKey(#"gift"#))
    }
}

extension FuzzOrder: JSONEncodable, JSONValueEncodable, JSONDecodable {
    func encodeJSON(to o: inout JSONObjectWriter) throws(JSONError) {
        try o.field(quotedKey: #""order_id":"#, self.orderID)
        try o.field(quotedKey: #""customer":"#, self.customerName)
        if let v = self.note {
            try o.field(quotedKey: #""note":"#, v)
        }
        try o.field(quotedKey: #""currency":"#, self.currency)
        try o.field(quotedKey: #""lines":"#, self.lines)
        try o.field(quotedKey: #""status":"#, self.status)
        try o.field(quotedKey: #""attributes":"#, self.attributes)
        if let v = self.totals {
            try o.field(quotedKey: #""totals":"#, v)
        }
        if let v = self.flags {
            try o.field(quotedKey: #""flags":"#, v)
        }
        if let v = self.shipTo {
            try o.field(quotedKey: #""ship_to":"#, v)
        }
        try o.field(quotedKey: #""version":"#, self.version)
    }

    init(json r: inout JSONReader) throws(JSONDecodingError) {
        let start = r.offset
        var _json_orderID: (UInt64)? = nil
        var _json_customerName: (String)? = nil
        var _json_note: String? = nil
        var _json_note_seen = false
        var _json_currency = "EUR"
        var _json_currency_seen = false
        var _json_lines: ([FuzzOrder.Line])? = nil
        var _json_status: (FuzzStatus)? = nil
        var _json_attributes: ([String: Int32])? = nil
        var _json_totals: [String: Double]? = nil
        var _json_totals_seen = false
        var _json_flags: [Bool]? = nil
        var _json_flags_seen = false
        var _json_shipTo: FuzzAddress? = nil
        var _json_shipTo_seen = false
        var more = try r.beginObject()
        while more {
            let key = try r.readKey()
            switch key.count {
            case 4:
                if key.matches(#"note"#) {
                    if _json_note_seen {
                        throw JSONDecodingError.duplicate(#"note"#, offset: r.offset)
                    }
                    _json_note_seen = true
                    _json_note = try r.read((String?).self, key: #"note"#)
                } else {
                    try r.skipValue()
                }
            case 5:
                if key.matches(#"lines"#) {
                    if _json_lines != nil {
                        throw JSONDecodingError.duplicate(#"lines"#, offset: r.offset)
                    }
                    _json_lines = try r.read(([FuzzOrder.Line]).self, key: #"lines"#)
                } else if key.matches(#"flags"#) {
                    if _json_flags_seen {
                        throw JSONDecodingError.duplicate(#"flags"#, offset: r.offset)
                    }
                    _json_flags_seen = true
                    _json_flags = try r.read(([Bool]?).self, key: #"flags"#)
                } else {
                    try r.skipValue()
                }
            case 6:
                if key.matches(#"status"#) {
                    if _json_status != nil {
                        throw JSONDecodingError.duplicate(#"status"#, offset: r.offset)
                    }
                    _json_status = try r.read((FuzzStatus).self, key: #"status"#)
                } else if key.matches(#"totals"#) {
                    if _json_totals_seen {
                        throw JSONDecodingError.duplicate(#"totals"#, offset: r.offset)
                    }
                    _json_totals_seen = true
                    _json_totals = try r.read(([String: Double]?).self, key: #"totals"#)
                } else {
                    try r.skipValue()
                }
            case 7:
                if key.matches(#"ship_to"#) {
                    if _json_shipTo_seen {
                        throw JSONDecodingError.duplicate(#"ship_to"#, offset: r.offset)
                    }
                    _json_shipTo_seen = true
                    _json_shipTo = try r.read((FuzzAddress?).self, key: #"ship_to"#)
                } else {
                    try r.skipValue()
                }
            case 8:
                if key.matches(#"order_id"#) {
                    if _json_orderID != nil {
                        throw JSONDecodingError.duplicate(#"order_id"#, offset: r.offset)
                    }
                    _json_orderID = try r.read((UInt64).self, key: #"order_id"#)
                } else if key.matches(#"customer"#) {
                    if _json_customerName != nil {
                        throw JSONDecodingError.duplicate(#"customer"#, offset: r.offset)
                    }
                    _json_customerName = try r.read((String).self, key: #"customer"#)
                } else if key.matches(#"currency"#) {
                    if _json_currency_seen {
                        throw JSONDecodingError.duplicate(#"currency"#, offset: r.offset)
                    }
                    _json_currency_seen = true
                    try r.read(into: &_json_currency, key: #"currency"#)
                } else {
                    try r.skipValue()
                }
            case 10:
                if key.matches(#"attributes"#) {
                    if _json_attributes != nil {
                        throw JSONDecodingError.duplicate(#"attributes"#, offset: r.offset)
                    }
                    _json_attributes = try r.read(([String: Int32]).self, key: #"attributes"#)
                } else {
                    try r.skipValue()
                }
            default:
                try r.skipValue()
            }
            more = try r.nextMember()
        }
        guard let _json_orderID_value = _json_orderID else {
            throw JSONDecodingError.missing(#"order_id"#, offset: start)
        }
        self.orderID = _json_orderID_value
        guard let _json_customerName_value = _json_customerName else {
            throw JSONDecodingError.missing(#"customer"#, offset: start)
        }
        self.customerName = _json_customerName_value
        self.note = _json_note
        self.currency = _json_currency
        guard let _json_lines_value = _json_lines else {
            throw JSONDecodingError.missing(#"lines"#, offset: start)
        }
        self.lines = _json_lines_value
        guard let _json_status_value = _json_status else {
            throw JSONDecodingError.missing(#"status"#, offset: start)
        }
        self.status = _json_status_value
        guard let _json_attributes_value = _json_attributes else {
            throw JSONDecodingError.missing(#"attributes"#, offset: start)
        }
        self.attributes = _json_attributes_value
        self.totals = _json_totals
        self.flags = _json_flags
        self.shipTo = _json_shipTo
    }
}

extension FuzzOrder: Encodable, Decodable {
    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: JSONCodingKey.self)
        try c.encode(self.orderID, forKey: JSONCodingKey(#"order_id"#))
        try c.encode(self.customerName, forKey: JSONCodingKey(#"customer"#))
        try c.encodeIfPresent(self.note, forKey: JSONCodingKey(#"note"#))
        try c.encode(self.currency, forKey: JSONCodingKey(#"currency"#))
        try c.encode(self.lines, forKey: JSONCodingKey(#"lines"#))
        try c.encode(self.status, forKey: JSONCodingKey(#"status"#))
        try c.encode(self.attributes, forKey: JSONCodingKey(#"attributes"#))
        try c.encodeIfPresent(self.totals, forKey: JSONCodingKey(#"totals"#))
        try c.encodeIfPresent(self.flags, forKey: JSONCodingKey(#"flags"#))
        try c.encodeIfPresent(self.shipTo, forKey: JSONCodingKey(#"ship_to"#))
        try c.encode(self.version, forKey: JSONCodingKey(#"version"#))
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: JSONCodingKey.self)
        self.orderID = try c.decode((UInt64).self, forKey: JSONCodingKey(#"order_id"#))
        self.customerName = try c.decode((String).self, forKey: JSONCodingKey(#"customer"#))
        var _json_note: String? = nil
        if let v = try c.decodeIfPresent(type(of: _json_note), forKey: JSONCodingKey(#"note"#)) {
            _json_note = v
        }
        self.note = _json_note
        var _json_currency = "EUR"
        if let v = try c.decodeIfPresent(type(of: _json_currency), forKey: JSONCodingKey(#"currency"#)) {
            _json_currency = v
        }
        self.currency = _json_currency
        self.lines = try c.decode(([FuzzOrder.Line]).self, forKey: JSONCodingKey(#"lines"#))
        self.status = try c.decode((FuzzStatus).self, forKey: JSONCodingKey(#"status"#))
        self.attributes = try c.decode(([String: Int32]).self, forKey: JSONCodingKey(#"attributes"#))
        self.totals = try c.decodeIfPresent(([String: Double]).self, forKey: JSONCodingKey(#"totals"#))
        self.flags = try c.decodeIfPresent(([Bool]).self, forKey: JSONCodingKey(#"flags"#))
        self.shipTo = try c.decodeIfPresent((FuzzAddress).self, forKey: JSONCodingKey(#"ship_to"#))
    }
}

extension FuzzStatus: JSONValueEncodable, JSONDecodable, Encodable, Decodable {
}

extension FuzzAddress: JSONEncodable, JSONValueEncodable, JSONDecodable {
    func encodeJSON(to o: inout JSONObjectWriter) throws(JSONError) {
        try o.field(quotedKey: #""street\nline":"#, self.street)
        if let v = self.city {
            try o.field(quotedKey: #""city":"#, v)
        }
        try o.field(quotedKey: #""zip":"#, self.zip)
        try o.field(quotedKey: #""level":"#, self.level)
    }

    init(json r: inout JSONReader) throws(JSONDecodingError) {
        let start = r.offset
        var _json_street: (String)? = nil
        var _json_city: String? = nil
        var _json_city_seen = false
        var _json_zip: (Int16)? = nil
        var _json_level: (FuzzLevel)? = nil
        var more = try r.beginObject()
        while more {
            let key = try r.readKey()
            switch key.count {
            case 3:
                if key.matches(#"zip"#) {
                    if _json_zip != nil {
                        throw JSONDecodingError.duplicate(#"zip"#, offset: r.offset)
                    }
                    _json_zip = try r.read((Int16).self, key: #"zip"#)
                } else {
                    throw JSONDecodingError(.unknownField, "unknown field", offset: r.offset).at(key: key.string)
                }
            case 4:
                if key.matches(#"city"#) {
                    if _json_city_seen {
                        throw JSONDecodingError.duplicate(#"city"#, offset: r.offset)
                    }
                    _json_city_seen = true
                    _json_city = try r.read((String?).self, key: #"city"#)
                } else {
                    throw JSONDecodingError(.unknownField, "unknown field", offset: r.offset).at(key: key.string)
                }
            case 5:
                if key.matches(#"level"#) {
                    if _json_level != nil {
                        throw JSONDecodingError.duplicate(#"level"#, offset: r.offset)
                    }
                    _json_level = try r.read((FuzzLevel).self, key: #"level"#)
                } else {
                    throw JSONDecodingError(.unknownField, "unknown field", offset: r.offset).at(key: key.string)
                }
            case 11:
                if key.matches(#"street\#u{a}line"#) {
                    if _json_street != nil {
                        throw JSONDecodingError.duplicate(#"street\#u{a}line"#, offset: r.offset)
                    }
                    _json_street = try r.read((String).self, key: #"street\#u{a}line"#)
                } else {
                    throw JSONDecodingError(.unknownField, "unknown field", offset: r.offset).at(key: key.string)
                }
            default:
                throw JSONDecodingError(.unknownField, "unknown field", offset: r.offset).at(key: key.string)
            }
            more = try r.nextMember()
        }
        guard let _json_street_value = _json_street else {
            throw JSONDecodingError.missing(#"street\#u{a}line"#, offset: start)
        }
        self.street = _json_street_value
        self.city = _json_city
        guard let _json_zip_value = _json_zip else {
            throw JSONDecodingError.missing(#"zip"#, offset: start)
        }
        self.zip = _json_zip_value
        guard let _json_level_value = _json_level else {
            throw JSONDecodingError.missing(#"level"#, offset: start)
        }
        self.level = _json_level_value
    }
}

extension FuzzAddress: Encodable, Decodable {
    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: JSONCodingKey.self)
        try c.encode(self.street, forKey: JSONCodingKey(#"street\#u{a}line"#))
        try c.encodeIfPresent(self.city, forKey: JSONCodingKey(#"city"#))
        try c.encode(self.zip, forKey: JSONCodingKey(#"zip"#))
        try c.encode(self.level, forKey: JSONCodingKey(#"level"#))
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: JSONCodingKey.self)
        self.street = try c.decode((String).self, forKey: JSONCodingKey(#"street\#u{a}line"#))
        self.city = try c.decodeIfPresent((String).self, forKey: JSONCodingKey(#"city"#))
        self.zip = try c.decode((Int16).self, forKey: JSONCodingKey(#"zip"#))
        self.level = try c.decode((FuzzLevel).self, forKey: JSONCodingKey(#"level"#))
    }
}

extension FuzzLevel: JSONValueEncodable, JSONDecodable, Encodable, Decodable {
}
