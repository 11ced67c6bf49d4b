import Foundation
import XCTest

import Passage

/// The Swift-side helpers: dates and times as Passage writes them, languages, errors.
final class ValueTests: XCTestCase {
    func testCalendarDatesReadAndWriteISO8601() throws {
        let date = try XCTUnwrap(CalendarDate("2027-03-28"))
        XCTAssertEqual(date.year, 2027)
        XCTAssertEqual(date.month, 3)
        XCTAssertEqual(date.day, 28)
        XCTAssertEqual(date.description, "2027-03-28")
        XCTAssertEqual(CalendarDate(year: 2027, month: 1, day: 5)?.description, "2027-01-05")
        XCTAssertLessThan(try XCTUnwrap(CalendarDate("2027-03-27")), date)

        for bad in ["2027-13-45", "2027-02-29", "2027-3-28", "28/03/2027", "", "2027-03-28T00:00"] {
            XCTAssertNil(CalendarDate(bad), bad)
        }
        XCTAssertNotNil(CalendarDate("2028-02-29"), "a leap day")
    }

    func testCalendarDateOfAnInstantDependsOnTheZone() throws {
        // 2027-03-27 23:30 UTC is already the 28th in Amman (UTC+3).
        let instant = try XCTUnwrap(ISO8601DateFormatter().date(from: "2027-03-27T23:30:00Z"))
        let amman = try XCTUnwrap(TimeZone(identifier: "Asia/Amman"))
        let utc = try XCTUnwrap(TimeZone(identifier: "UTC"))
        XCTAssertEqual(CalendarDate(instant, in: amman).description, "2027-03-28")
        XCTAssertEqual(CalendarDate(instant, in: utc).description, "2027-03-27")
    }

    func testZonedTimesReadWhatPassageWrites() throws {
        let text = "2027-03-28T09:40:00+03:00[Asia/Amman]"
        let time = try XCTUnwrap(ZonedTime(text))
        XCTAssertEqual(time.timeZone.identifier, "Asia/Amman")
        XCTAssertEqual(time.local.hour, 9)
        XCTAssertEqual(time.local.minute, 40)
        XCTAssertEqual(time.utcOffset, 3 * 3600)
        XCTAssertEqual(time.date, ISO8601DateFormatter().date(from: "2027-03-28T06:40:00Z"))
        XCTAssertEqual(time.description, text)

        let brussels = try XCTUnwrap(ZonedTime("2027-03-28T12:55:00+02:00[Europe/Brussels]"))
        XCTAssertEqual(brussels.date.timeIntervalSince(time.date), 4 * 3600 + 15 * 60, "06:40Z to 10:55Z")
    }

    func testZonedTimesWithoutOffsetAreReadInTheirZone() throws {
        let time = try XCTUnwrap(ZonedTime("2027-03-28T09:40[Europe/Brussels]"))
        // Summer time began in Brussels that morning at 02:00.
        XCTAssertEqual(time.utcOffset, 2 * 3600)
        XCTAssertEqual(time.description, "2027-03-28T09:40:00+02:00[Europe/Brussels]")
    }

    func testZonedTimesRoundTripFromADate() throws {
        let zone = try XCTUnwrap(TimeZone(identifier: "Asia/Beirut"))
        let instant = Date(timeIntervalSince1970: 1_800_000_000)
        let time = ZonedTime(date: instant, timeZone: zone)
        let back = try XCTUnwrap(ZonedTime(time.description))
        XCTAssertEqual(back.date, instant)
        XCTAssertEqual(back.timeZone, zone)
        XCTAssertEqual(back, time)
    }

    func testBadZonedTimesAreNil() {
        for bad in [
            "2027-03-28T09:40:00+03:00",              // no zone
            "2027-03-28T09:40:00+03:00[Mars/Olympus]", // no such zone
            "2027-03-28 09:40 Asia/Amman",            // not the RFC 9557 form
            "2027-03-28T25:40[Asia/Amman]",
            "2027-02-30T09:40[Asia/Amman]",
            "[Asia/Amman]",
        ] {
            XCTAssertNil(ZonedTime(bad), bad)
        }
    }

    func testASkippedLocalTimeIsNil() throws {
        let brussels = try XCTUnwrap(TimeZone(identifier: "Europe/Brussels"))
        let skipped = DateComponents(year: 2027, month: 3, day: 28, hour: 2, minute: 30)
        XCTAssertNil(ZonedTime(local: skipped, timeZone: brussels))
        let fine = DateComponents(year: 2027, month: 3, day: 28, hour: 9, minute: 40)
        XCTAssertEqual(ZonedTime(local: fine, timeZone: brussels)?.description, "2027-03-28T09:40:00+02:00[Europe/Brussels]")
    }

    func testLanguagesFromLocaleIdentifiers() {
        XCTAssertEqual(Language(identifier: "ar-JO"), .ar)
        XCTAssertEqual(Language(identifier: "ar"), .ar)
        XCTAssertEqual(Language(identifier: "fr_BE"), .fr)
        XCTAssertEqual(Language(identifier: "en-GB"), .en)
        XCTAssertEqual(Language(identifier: "nl-BE"), .en, "what Passage does not have is English")
        XCTAssertEqual(Language(Foundation.Locale(identifier: "fr_FR")), .fr)
    }

    func testErrorsDescribeThemselves() {
        let error = PassageStoreError.retryLater(reason: "connection refused", retryAfter: 30)
        XCTAssertEqual(error.kind, .retryLater)
        XCTAssertEqual(error.reason, "connection refused")
        XCTAssertEqual(error.retryAfter, 30)
        XCTAssertTrue(error.isTransient)
        XCTAssertEqual(error.localizedDescription, "connection refused")
        XCTAssertNotNil(error.recoverySuggestion)
        XCTAssertFalse(PassageStoreError.notAllowed(reason: "no").isTransient)
        XCTAssertEqual(PassageStoreError.closed.kind, .closed)
        XCTAssertEqual(Set(PassageStoreError.Kind.allCases.map(\.rawValue)).count, PassageStoreError.Kind.allCases.count)
    }
}
