import Foundation
import XCTest

import Passage

private let clinic = "IOM Migration Health Assessment Centre, Amman"

/// Erasure and vouched history, through the Swift API and the real server. The same
/// test, under the same name, as the Kotlin one (ErasureTest).
final class ErasureTests: PassageTestCase {
    func testAnErasedMedicalRecordLeavesEveryDeviceAndHistoryIsVouched() async throws {
        let environment = ProcessInfo.processInfo.environment
        guard let address = environment["PASSAGE_TEST_SERVER_URL"], !address.isEmpty,
              let caseId = environment["PASSAGE_TEST_ERASE_CASE_ID"],
              let talentCode = environment["PASSAGE_TEST_ERASE_TALENT_CODE"],
              let caseworkerCode = environment["PASSAGE_TEST_ERASE_CASEWORKER_CODE"]
        else {
            throw XCTSkip(
                "no passage-server to sync with: PASSAGE_TEST_SERVER_URL, PASSAGE_TEST_ERASE_CASE_ID, "
                    + "PASSAGE_TEST_ERASE_TALENT_CODE and PASSAGE_TEST_ERASE_CASEWORKER_CODE are not set; "
                    + "scripts/test-with-server.sh sets them"
            )
        }
        let server = try XCTUnwrap(URL(string: address), "PASSAGE_TEST_SERVER_URL is not a URL: \(address)")
        let phone = try openStore("omar.db", role: .talent, person: "Omar", keys: RecordingKeystore())
        let laptop = try openStore("amira.db", role: .caseworker, person: "Amira", keys: RecordingKeystore())
        defer {
            phone.close()
            laptop.close()
        }
        _ = try await phone.enrol(server: server, code: talentCode, deviceName: "Omar's phone")
        _ = try await laptop.enrol(server: server, code: caseworkerCode, deviceName: "Amira's laptop")
        try await phone.sync()
        try phone.apply(
            .addAppointment(appointment: Appointment(
                clinic: clinic, at: "2027-01-12T10:30[Asia/Amman]", purpose: "TB screening"
            )),
            to: caseId
        )
        try await phone.sync()
        try await laptop.sync()
        XCTAssertEqual(try laptop.medical(caseId: caseId).appointments.count, 1)

        // The server vouches that the appointment came from Omar's phone, in the name the
        // server knows him by (not the "Omar" the app opened the store with).
        let added = try laptop.history(caseId: caseId).filter { $0.edit == "appointment.add" }
        XCTAssertEqual(added.count, 1, "\(added)")
        let entry = try XCTUnwrap(added.first)
        XCTAssertEqual(entry.trust, .vouched)
        XCTAssertEqual(entry.vouched?.name, "Omar Khalil")
        XCTAssertEqual(entry.vouched?.role, .talent)

        assertThrows(.notAllowed, try phone.eraseMedical(caseId: caseId))
        try laptop.eraseMedical(caseId: caseId)
        assertThrows(.notFound, try laptop.medical(caseId: caseId))
        try await laptop.sync()
        try await phone.sync()
        assertThrows(.notFound, try phone.medical(caseId: caseId))
        XCTAssertFalse(try phone.history(caseId: caseId).contains { $0.doc == .medical }, "no medical history left")
        XCTAssertEqual(try phone.journey(caseId: caseId).caseId, caseId, "the journey stays")
    }
}
