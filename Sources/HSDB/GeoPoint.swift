import Foundation
import HSDBCore

/// A point on the Earth as Qdrant's payloads hold it: `{"lon": ..., "lat": ...}` in degrees.
public struct GeoPoint: Sendable, Equatable {
    public var lon: Double
    public var lat: Double

    public init(lon: Double, lat: Double) {
        self.lon = lon
        self.lat = lat
    }

    /// Qdrant's (the `geo` crate's) mean Earth radius, in meters.
    static let earthRadius = 6_371_008.8

    /// The geo points among payload values: objects with numeric `lon` and `lat`.
    static func all(_ values: [JSONValue]) -> [GeoPoint] {
        values.compactMap { v in
            guard case .object(let o) = v, let lon = o["lon"]?.number, let lat = o["lat"]?.number else { return nil }
            return GeoPoint(lon: lon, lat: lat)
        }
    }

    /// Great-circle distance by the haversine formula.
    func meters(to other: GeoPoint) -> Double {
        let (p1, p2) = (lat * .pi / 180, other.lat * .pi / 180)
        let dLat = p2 - p1, dLon = (other.lon - lon) * .pi / 180
        let a = sin(dLat / 2) * sin(dLat / 2) + cos(p1) * cos(p2) * sin(dLon / 2) * sin(dLon / 2)
        return 2 * Self.earthRadius * asin(min(1, a.squareRoot()))
    }

    func isInBox(topLeft: GeoPoint, bottomRight: GeoPoint) -> Bool {
        guard lat <= topLeft.lat && lat >= bottomRight.lat else { return false }
        if topLeft.lon <= bottomRight.lon { return lon >= topLeft.lon && lon <= bottomRight.lon }
        return lon >= topLeft.lon || lon <= bottomRight.lon  // across the antimeridian
    }

    /// Inside the closed ring, by the even-odd rule over (lon, lat) as plane coordinates.
    func isInRing(_ ring: [GeoPoint]) -> Bool {
        var inside = false
        var j = ring.count - 1
        for i in ring.indices {
            let (a, b) = (ring[i], ring[j])
            if (a.lat > lat) != (b.lat > lat), lon < (b.lon - a.lon) * (lat - a.lat) / (b.lat - a.lat) + a.lon { inside.toggle() }
            j = i
        }
        return inside
    }
}
