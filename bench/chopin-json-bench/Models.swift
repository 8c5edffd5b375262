// The bench's payloads, twice: plain Codable types (for Foundation and
// Chopin's Codable path) and the same shapes with @JSON.
import ChopinJSON

/// TechEmpower's World row.
struct WorldC: Codable { let id: Int32; let randomNumber: Int32 }
@JSON struct WorldJ { let id: Int32; let randomNumber: Int32 }

struct ItemC: Codable { let sku: String; let name: String; let quantity: Int; let unitPrice: Double; let tags: [String] }
@JSON struct ItemJ { let sku: String; let name: String; let quantity: Int; let unitPrice: Double; let tags: [String] }

struct AddressC: Codable { let street: String; let city: String; let postcode: String; let country: String }
@JSON struct AddressJ { let street: String; let city: String; let postcode: String; let country: String }

/// A 20-field order with nested items and addresses.
struct OrderC: Codable {
    let id: UInt64; let customerId: UInt64; let customerName: String; let email: String
    let status: String; let currency: String; let subtotal: Double; let tax: Double
    let shipping: Double; let total: Double; let paid: Bool; let giftWrap: Bool
    let note: String?; let coupon: String?; let createdAt: String; let updatedAt: String
    let shippingAddress: AddressC; let billingAddress: AddressC; let items: [ItemC]; let attributes: [String: String]
}
@JSON struct OrderJ {
    let id: UInt64; let customerId: UInt64; let customerName: String; let email: String
    let status: String; let currency: String; let subtotal: Double; let tax: Double
    let shipping: Double; let total: Double; let paid: Bool; let giftWrap: Bool
    let note: String?; let coupon: String?; let createdAt: String; let updatedAt: String
    let shippingAddress: AddressJ; let billingAddress: AddressJ; let items: [ItemJ]; let attributes: [String: String]
}

struct ProfileC: Codable { let id: UInt64; let username: String; let email: String; let active: Bool; let score: Double }
@JSON struct ProfileJ { let id: UInt64; let username: String; let email: String; let active: Bool; let score: Double }

/// A 1 MB document: a page of orders.
struct PageC: Codable { let page: Int; let orders: [OrderC] }
@JSON struct PageJ { let page: Int; let orders: [OrderJ] }
