// The values the bench encodes; the decoders read what Chopin wrote.
func makeItems(_ n: Int) -> [ItemC] {
    (0..<n).map {
        ItemC(
            sku: "SKU-\(10_000 + $0)", name: "Item \($0) \"special\"", quantity: $0 % 7 + 1,
            unitPrice: Double($0) * 1.25 + 0.99, tags: ["red", "size-\($0 % 5)", "caf\u{e9}"])
    }
}

func makeOrder(_ id: UInt64) -> OrderC {
    let address = AddressC(street: "\(id) Rue de Rivoli", city: "Paris", postcode: "75001", country: "FR")
    return OrderC(
        id: id, customerId: id * 7, customerName: "Ada Lovelace", email: "ada@example.com", status: "paid",
        currency: "EUR", subtotal: 123.45, tax: 24.69, shipping: 4.99, total: 153.13, paid: true, giftWrap: false,
        note: id % 2 == 0 ? "leave at the door\nthanks" : nil, coupon: nil, createdAt: "2026-11-25T10:00:00Z",
        updatedAt: "2026-11-25T10:05:00Z", shippingAddress: address, billingAddress: address, items: makeItems(5),
        attributes: ["channel": "web", "campaign": "winter"])
}

extension ItemJ {
    init(_ c: ItemC) { self.init(sku: c.sku, name: c.name, quantity: c.quantity, unitPrice: c.unitPrice, tags: c.tags) }
}

extension AddressJ {
    init(_ c: AddressC) { self.init(street: c.street, city: c.city, postcode: c.postcode, country: c.country) }
}

extension OrderJ {
    init(_ c: OrderC) {
        self.init(
            id: c.id, customerId: c.customerId, customerName: c.customerName, email: c.email, status: c.status,
            currency: c.currency, subtotal: c.subtotal, tax: c.tax, shipping: c.shipping, total: c.total,
            paid: c.paid, giftWrap: c.giftWrap, note: c.note, coupon: c.coupon, createdAt: c.createdAt,
            updatedAt: c.updatedAt, shippingAddress: AddressJ(c.shippingAddress),
            billingAddress: AddressJ(c.billingAddress), items: c.items.map(ItemJ.init), attributes: c.attributes)
    }
}

extension ProfileJ {
    init(_ c: ProfileC) { self.init(id: c.id, username: c.username, email: c.email, active: c.active, score: c.score) }
}

let users = (0..<100).map {
    ProfileC(id: UInt64($0) + 1000, username: "user\($0)", email: "user\($0)@example.com", active: $0 % 3 != 0, score: Double($0) / 8)
}
/// About 1 MB once written.
let page = PageC(page: 1, orders: (0..<850).map { makeOrder(UInt64($0)) })
