import Foundation
import PassageFFI

// Passage hands dates over as text, both ways:
//
// - all-day dates (due dates, housing, orientation days, tests) as ISO 8601
//   `YYYY-MM-DD`: a `CalendarDate`, the same day wherever the phone is;
// - local times (flights, appointments) as RFC 9557 text with their IANA zone,
//   `2027-03-28T06:00:00+03:00[Asia/Amman]`: a `ZonedTime`, an instant plus the zone
//   it is shown in (a flight leaves Amman at Amman's time, wherever the reader is).
//
// Instants (when a task was completed) are already `Date`s.

private let utc = TimeZone(secondsFromGMT: 0)!

private func gregorian(_ timeZone: TimeZone) -> Calendar {
    var calendar = Calendar(identifier: .gregorian)
    calendar.timeZone = timeZone
    return calendar
}

private func padded(_ value: Int, _ width: Int) -> String {
    let digits = String(abs(value))
    let zeros = String(repeating: "0", count: max(0, width - digits.count))
    return (value < 0 ? "-" : "") + zeros + digits
}

/// Reads exactly `count` ASCII digits at the front of `text`, and drops them.
private func digits(_ text: inout Substring, _ count: Int) -> Int? {
    guard text.count >= count else { return nil }
    let head = text.prefix(count)
    guard head.allSatisfy({ $0.isASCII && $0.isNumber }), let value = Int(head) else { return nil }
    text = text.dropFirst(count)
    return value
}

/// Drops `character` from the front of `text`, or says it is not there.
private func literal(_ text: inout Substring, _ character: Character) -> Bool {
    guard text.first == character else { return false }
    text = text.dropFirst()
    return true
}

// MARK: - CalendarDate

/// A day on the calendar, without a time or a zone: `2027-03-28`.
public struct CalendarDate: Hashable, Comparable, Sendable, LosslessStringConvertible {
    public let year: Int
    public let month: Int
    public let day: Int

    /// The day, or nil if there is no such day (`2027-02-30`).
    public init?(year: Int, month: Int, day: Int) {
        guard (1...9999).contains(year), (1...12).contains(month), (1...31).contains(day) else { return nil }
        let calendar = gregorian(utc)
        guard let date = calendar.date(from: DateComponents(year: year, month: month, day: day)) else { return nil }
        let back = calendar.dateComponents([.year, .month, .day], from: date)
        guard back.year == year, back.month == month, back.day == day else { return nil }
        self.year = year
        self.month = month
        self.day = day
    }

    /// Reads `YYYY-MM-DD`, as Passage writes it.
    public init?(_ description: String) {
        var text = Substring(description.trimmingCharacters(in: .whitespaces))
        guard let year = digits(&text, 4), literal(&text, "-"),
              let month = digits(&text, 2), literal(&text, "-"),
              let day = digits(&text, 2), text.isEmpty
        else { return nil }
        self.init(year: year, month: month, day: day)
    }

    /// The day `date` falls on in `timeZone`.
    public init(_ date: Date, in timeZone: TimeZone = .current) {
        let parts = gregorian(timeZone).dateComponents([.year, .month, .day], from: date)
        year = parts.year ?? 1970
        month = parts.month ?? 1
        day = parts.day ?? 1
    }

    /// Today, in `timeZone`.
    public static func today(in timeZone: TimeZone = .current) -> CalendarDate {
        CalendarDate(Date(), in: timeZone)
    }

    /// `YYYY-MM-DD`, as Passage reads it (e.g. in `Edit.setTaskDue`).
    public var description: String {
        "\(padded(year, 4))-\(padded(month, 2))-\(padded(day, 2))"
    }

    /// Year, month and day, with the Gregorian calendar, for formatters and pickers.
    public var dateComponents: DateComponents {
        DateComponents(calendar: Calendar(identifier: .gregorian), year: year, month: month, day: day)
    }

    /// The first instant of the day in `timeZone`.
    public func startOfDay(in timeZone: TimeZone = .current) -> Date {
        let calendar = gregorian(timeZone)
        let noon = calendar.date(from: DateComponents(year: year, month: month, day: day, hour: 12)) ?? Date()
        return calendar.startOfDay(for: noon)
    }

    public static func < (lhs: CalendarDate, rhs: CalendarDate) -> Bool {
        (lhs.year, lhs.month, lhs.day) < (rhs.year, rhs.month, rhs.day)
    }
}

// MARK: - ZonedTime

/// A local time in an IANA time zone, as RFC 9557 text:
/// `2027-03-28T06:00:00+03:00[Asia/Amman]`.
///
/// `date` is the instant; `timeZone` the zone to show it in; `local` the wall-clock
/// time as written. Show a flight's departure with a formatter whose `timeZone` is
/// `timeZone`, not the phone's.
public struct ZonedTime: Hashable, Sendable, LosslessStringConvertible {
    /// The wall-clock time in the zone.
    public struct LocalTime: Hashable, Sendable {
        public let date: CalendarDate
        public let hour: Int
        public let minute: Int
        public let second: Int
    }

    /// The instant.
    public let date: Date
    /// The zone the time is local to.
    public let timeZone: TimeZone
    /// The wall-clock time, as written.
    public let local: LocalTime
    /// The zone's offset from UTC at that instant, in seconds.
    public let utcOffset: Int

    /// Reads `YYYY-MM-DDTHH:MM[:SS][offset][Zone/Name]`, as Passage writes it. Without an
    /// offset the local time is read in the zone; with one, the offset says which
    /// instant (the zone's own rules may differ between tz database versions, so the
    /// offset Passage wrote is kept).
    public init?(_ description: String) {
        let text = description.trimmingCharacters(in: .whitespaces)
        guard text.hasSuffix("]"), let open = text.lastIndex(of: "[") else { return nil }
        let zoneName = text[text.index(after: open)..<text.index(before: text.endIndex)]
        guard let zone = TimeZone(identifier: String(zoneName)) else { return nil }

        var rest = text[..<open]
        guard let year = digits(&rest, 4), literal(&rest, "-"),
              let month = digits(&rest, 2), literal(&rest, "-"),
              let day = digits(&rest, 2), literal(&rest, "T"),
              let calendarDate = CalendarDate(year: year, month: month, day: day),
              let hour = digits(&rest, 2), literal(&rest, ":"),
              let minute = digits(&rest, 2),
              hour < 24, minute < 60
        else { return nil }
        var second = 0
        if literal(&rest, ":") {
            guard let s = digits(&rest, 2), s < 60 else { return nil }
            second = s
        }
        let local = LocalTime(date: calendarDate, hour: hour, minute: minute, second: second)

        var offset: Int?
        if literal(&rest, "Z") {
            offset = 0
        } else if let sign = rest.first, sign == "+" || sign == "-" {
            rest = rest.dropFirst()
            guard let hours = digits(&rest, 2), literal(&rest, ":"), let minutes = digits(&rest, 2) else { return nil }
            var seconds = hours * 3600 + minutes * 60
            if literal(&rest, ":") {
                guard let s = digits(&rest, 2) else { return nil }
                seconds += s
            }
            offset = sign == "-" ? -seconds : seconds
        }
        guard rest.isEmpty else { return nil }

        let components = DateComponents(
            year: year, month: month, day: day, hour: hour, minute: minute, second: second
        )
        let instant: Date
        if let offset {
            guard let asUTC = gregorian(utc).date(from: components) else { return nil }
            instant = asUTC.addingTimeInterval(TimeInterval(-offset))
        } else {
            guard let inZone = gregorian(zone).date(from: components) else { return nil }
            instant = inZone
        }
        self.date = instant
        self.timeZone = zone
        self.local = local
        self.utcOffset = offset ?? zone.secondsFromGMT(for: instant)
    }

    /// The instant `date`, shown in `timeZone` (which should be an IANA zone, e.g.
    /// `TimeZone(identifier: "Europe/Brussels")`, for Passage to accept it).
    public init(date: Date, timeZone: TimeZone) {
        let parts = gregorian(timeZone).dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        let day = CalendarDate(date, in: timeZone)
        self.date = date
        self.timeZone = timeZone
        self.local = LocalTime(date: day, hour: parts.hour ?? 0, minute: parts.minute ?? 0, second: parts.second ?? 0)
        self.utcOffset = timeZone.secondsFromGMT(for: date)
    }

    /// The wall-clock time `local` in `timeZone`, or nil if the clocks skip it there (a
    /// daylight-saving change).
    public init?(local: DateComponents, timeZone: TimeZone) {
        let calendar = gregorian(timeZone)
        guard let date = calendar.date(from: local) else { return nil }
        let back = calendar.dateComponents([.hour, .minute], from: date)
        if let hour = local.hour, back.hour != hour { return nil }
        if let minute = local.minute, back.minute != minute { return nil }
        self.init(date: date, timeZone: timeZone)
    }

    /// RFC 9557 text, as Passage reads it (e.g. in `Edit.rescheduleAppointment`).
    public var description: String {
        let sign = utcOffset < 0 ? "-" : "+"
        let magnitude = abs(utcOffset)
        var offset = "\(sign)\(padded(magnitude / 3600, 2)):\(padded(magnitude % 3600 / 60, 2))"
        if magnitude % 60 != 0 {
            offset += ":\(padded(magnitude % 60, 2))"
        }
        return "\(local.date)T\(padded(local.hour, 2)):\(padded(local.minute, 2)):\(padded(local.second, 2))"
            + "\(offset)[\(timeZone.identifier)]"
    }

    /// The wall-clock time as date components in the zone, for formatters and pickers.
    public var localComponents: DateComponents {
        DateComponents(
            calendar: gregorian(timeZone), timeZone: timeZone,
            year: local.date.year, month: local.date.month, day: local.date.day,
            hour: local.hour, minute: local.minute, second: local.second
        )
    }
}

// MARK: - The records' dates, read

extension JourneyView {
    /// The job offer date.
    public var startDay: CalendarDate? { CalendarDate(startDate) }
}

extension TaskView {
    public var dueDay: CalendarDate? { due.flatMap { CalendarDate($0) } }
}

extension PermitView {
    public var decidedOnDay: CalendarDate? { decidedOn.flatMap { CalendarDate($0) } }
}

extension Housing {
    public var fromDay: CalendarDate? { from.flatMap { CalendarDate($0) } }
    public var untilDay: CalendarDate? { until.flatMap { CalendarDate($0) } }
}

extension PdoDayView {
    public var calendarDay: CalendarDate? { date.flatMap { CalendarDate($0) } }
}

extension MedicalTest {
    public var day: CalendarDate? { CalendarDate(date) }
}

extension Vaccination {
    public var day: CalendarDate? { CalendarDate(date) }
}

extension Fitness {
    public var decidedOnDay: CalendarDate? { decidedOn.flatMap { CalendarDate($0) } }
    public var validUntilDay: CalendarDate? { validUntil.flatMap { CalendarDate($0) } }
}

extension FlightSegment {
    /// Local time at the departure airport.
    public var departure: ZonedTime? { ZonedTime(departs) }
    /// Local time at the arrival airport.
    public var arrival: ZonedTime? { ZonedTime(arrives) }
}

extension Appointment {
    /// Local time at the clinic.
    public var time: ZonedTime? { ZonedTime(at) }
}
