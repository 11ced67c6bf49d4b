import Foundation
import XCTest

import Passage

/// The reads a screen makes, beyond PassageStoreTests.
final class StoreTests: PassageTestCase {
    func testTheJourneyComesInTheRequestedLanguage() throws {
        let store = try openStore()
        defer { store.close() }
        let caseId = try store.createJourney(belgianJourney())

        let english = try store.journey(caseId: caseId, locale: .en)
        let arabic = try store.journey(caseId: caseId, locale: .ar)
        XCTAssertFalse(english.rightToLeft)
        XCTAssertTrue(arabic.rightToLeft)
        XCTAssertEqual(english.stages.map(\.id), arabic.stages.map(\.id))
        XCTAssertNotEqual(english.stages.first?.title, arabic.stages.first?.title)
        XCTAssertEqual(english.startDay, CalendarDate(year: 2027, month: 1, day: 15))
    }

    func testEveryReadOfACase() throws {
        let store = try openStore()
        defer { store.close() }
        let caseId = try store.createJourney(belgianJourney())
        try store.apply(.setTaskDue(task: "complete_talent_profile", due: "2027-02-01"), to: caseId)
        try store.apply(
            .setHousing(housing: Housing(address: "Ruddershove 10", city: "Brugge", from: "2027-03-28", until: nil)),
            to: caseId
        )
        try store.apply(
            .addAppointment(appointment: Appointment(
                clinic: "IOM Migration Health Assessment Centre, Amman",
                at: "2027-02-10T09:30[Asia/Amman]",
                purpose: "Pre-departure medical check"
            )),
            to: caseId
        )

        let journey = try store.journey(caseId: caseId, locale: .fr)
        XCTAssertEqual(task("complete_talent_profile", in: journey)?.dueDay, CalendarDate("2027-02-01"))
        XCTAssertEqual(journey.travel.housing.city, "Brugge")
        XCTAssertEqual(journey.travel.housing.fromDay, CalendarDate(year: 2027, month: 3, day: 28))

        let medical = try store.medical(caseId: caseId)
        let appointment = try XCTUnwrap(medical.appointments.first?.appointment)
        let time = try XCTUnwrap(appointment.time)
        XCTAssertEqual(time.timeZone.identifier, "Asia/Amman")
        XCTAssertEqual(time.local.hour, 9)
        XCTAssertEqual(time.local.minute, 30)

        let plan = try store.arrivalPlan(caseId: caseId, locale: .en)
        XCTAssertEqual(plan.talentName, "Rana Haddad")
        XCTAssertEqual(plan.housing.address, "Ruddershove 10")

        XCTAssertEqual(try store.conflicts(caseId: caseId, locale: .en), [])

        let history = try store.history(caseId: caseId)
        let due = try XCTUnwrap(history.last { $0.edit == "task.due" }, "\(history.map(\.edit))")
        XCTAssertEqual(due.by, "Amira Khoury")
        XCTAssertEqual(due.role, .caseworker)
        XCTAssertEqual(due.doc, .journey)

        let json = try store.exportJSON(caseId: caseId)
        let parsed = try JSONSerialization.jsonObject(with: Data(json.utf8))
        XCTAssertTrue(parsed is [String: Any], "the export is a JSON object")
        XCTAssertTrue(json.contains(caseId))
    }

    func testASyncStatusBeforeEnrolment() throws {
        let store = try openStore()
        defer { store.close() }
        let status = try store.syncStatus()
        XCTAssertNil(status.server)
        XCTAssertNil(status.lastSuccess)
        XCTAssertEqual(status.pendingDocuments, 0)
    }

    func testAnEditThatChangesNothingCommitsNothing() throws {
        let store = try openStore()
        defer { store.close() }
        let caseId = try store.createJourney(belgianJourney())
        try store.apply(.allowSelfBooking(allowed: true), to: caseId)
        let again = try store.apply(.allowSelfBooking(allowed: true), to: caseId)
        XCTAssertNil(again.change)
    }
}
